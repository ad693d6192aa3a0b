import CFerryImageCheck
import CZlib
import FerryStore
import FerryTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import StoreTestSupport
import Synchronization
import Testing

@testable import FerryDashboard

/// Thumbnails made on the server: JPEGs decoded at a reduced size by libjpeg, PNGs of every colour
/// type and row filter the readers accept, damaged and oversized images refused without a crash,
/// the cache, and `/files/ID/thumb` over HTTP (type, size, ETag and 304, organisation scoping).
@Suite struct ThumbnailTests {
    // MARK: Images made at test time

    /// A `width` × `height` RGB image: the left half red, the right half blue.
    static func halves(width: Int, height: Int) -> [UInt8] {
        var pixels = [UInt8]()
        pixels.reserveCapacity(width * height * 3)
        for _ in 0..<height {
            for x in 0..<width { pixels += x < width / 2 ? [220, 20, 20] : [20, 20, 220] }
        }
        return pixels
    }

    /// A JPEG through libjpeg (at quality 95, so colours survive).
    static func jpeg(_ pixels: [UInt8], width: Int, height: Int, components: Int = 3) throws -> [UInt8] {
        var output: UnsafeMutablePointer<UInt8>?
        var length = 0
        var error = [CChar](repeating: 0, count: 256)
        let status = pixels.withUnsafeBufferPointer {
            ferry_thumbnail_encode_jpeg($0.baseAddress, UInt32(width), UInt32(height), UInt32(components), 95, &output, &length, &error, 256)
        }
        let buffer = try #require(status == 0 ? output : nil, "libjpeg encodes the test image")
        defer { ferry_thumbnail_free(buffer) }
        return Array(UnsafeBufferPointer(start: buffer, count: length))
    }

    /// Width, height and components of a JPEG, read back by the `ferry hil` checker (every scanline decoded).
    static func jpegSize(_ bytes: [UInt8]) -> (width: Int, height: Int, components: Int)? {
        var width: UInt32 = 0, height: UInt32 = 0, components: UInt32 = 0
        var error = [CChar](repeating: 0, count: 256)
        let status = bytes.withUnsafeBufferPointer { ferry_check_jpeg($0.baseAddress, $0.count, &width, &height, &components, &error, 256) }
        return status == 0 ? (Int(width), Int(height), Int(components)) : nil
    }

    /// A PNG with zlib's deflate; row `y` is filtered with filter `y % 5`, so every filter is undone.
    static func png(
        _ samples: [UInt8], width: Int, height: Int, colourType: UInt8, bitDepth: UInt8 = 8, palette: [UInt8]? = nil, interlace: UInt8 = 0
    ) -> [UInt8] {
        let channels = [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][Int(colourType)]!
        let bpp = channels * Int(bitDepth) / 8
        let stride = width * bpp
        var raw = [UInt8]()
        var previous = [UInt8](repeating: 0, count: stride)
        for y in 0..<height {
            let row = Array(samples[y * stride..<(y + 1) * stride])
            let filter = y % 5
            raw.append(UInt8(filter))
            for i in 0..<stride {
                let a = i >= bpp ? Int(row[i - bpp]) : 0, b = Int(previous[i]), c = i >= bpp ? Int(previous[i - bpp]) : 0
                let predictor: Int
                switch filter {
                case 0: predictor = 0
                case 1: predictor = a
                case 2: predictor = b
                case 3: predictor = (a + b) / 2
                default:
                    let p = a + b - c
                    predictor = abs(p - a) <= abs(p - b) && abs(p - a) <= abs(p - c) ? a : (abs(p - b) <= abs(p - c) ? b : c)
                }
                raw.append(row[i] &- UInt8(truncatingIfNeeded: predictor))
            }
            previous = row
        }
        var compressedLength = compressBound(uLong(raw.count))
        var compressed = [UInt8](repeating: 0, count: Int(compressedLength))
        _ = compress(&compressed, &compressedLength, raw, uLong(raw.count))
        func be(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
            let typed = Array(type.utf8) + body
            return be(body.count) + typed + be(Int(crc32(0, typed, uInt(typed.count))))
        }
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        out += chunk("IHDR", be(width) + be(height) + [bitDepth, colourType, 0, 0, interlace])
        if let palette { out += chunk("PLTE", palette) }
        out += chunk("IDAT", Array(compressed.prefix(Int(compressedLength))))
        out += chunk("IEND", [])
        return out
    }

    /// A pixel of decoded pixels.
    static func pixel(_ p: Thumbnailer.Pixels, _ x: Int, _ y: Int) -> [Int] {
        let at = (y * p.width + x) * p.components
        return p.bytes[at..<at + p.components].map(Int.init)
    }

    static func near(_ a: [Int], _ b: [Int], within tolerance: Int = 24) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance }
    }

    // MARK: Decoding and scaling

    @Test func aJPEGIsDecodedAtAQuarterOrAnEighthByLibjpegThenFittedAndReencoded() throws {
        let original = try Self.jpeg(Self.halves(width: 1280, height: 960), width: 1280, height: 960)
        // DCT scaling: the largest of 1/8, 1/4, 1/2 that keeps the longest side at the target or more.
        let quarter = try Thumbnailer.decodeJPEG(original, side: 320, maxPixels: Thumbnailer.maxPixels)
        #expect((quarter.width, quarter.height, quarter.components) == (320, 240, 3))
        let eighth = try Thumbnailer.decodeJPEG(original, side: 100, maxPixels: Thumbnailer.maxPixels)
        #expect((eighth.width, eighth.height) == (100, 75), "decoded at 160x120 (1/8), then box-filtered to fit 100")
        #expect(Self.near(Self.pixel(eighth, 10, 40), [220, 20, 20]) && Self.near(Self.pixel(eighth, 90, 40), [20, 20, 220]), "left red, right blue")

        let thumbnail = try Thumbnailer.jpeg(from: original, mimeType: "image/jpeg")
        let size = try #require(Self.jpegSize(thumbnail), "the thumbnail is a JPEG every scanline of which decodes")
        #expect((size.width, size.height, size.components) == (320, 240, 3), "fits 320, keeps 4:3, so normalized boxes line up")
        #expect(thumbnail.count < original.count / 4)
        let back = try Thumbnailer.decodeJPEG(thumbnail, side: 1000, maxPixels: Thumbnailer.maxPixels)
        #expect(Self.near(Self.pixel(back, 40, 120), [220, 20, 20]) && Self.near(Self.pixel(back, 280, 120), [20, 20, 220]))

        // Greyscale stays greyscale; a small image is not enlarged; a tall one fits its height.
        let grey = try Self.jpeg([UInt8](repeating: 128, count: 200 * 100), width: 200, height: 100, components: 1)
        let greyThumbnail = try #require(Self.jpegSize(try Thumbnailer.jpeg(from: grey, mimeType: "image/jpeg")))
        #expect((greyThumbnail.width, greyThumbnail.height, greyThumbnail.components) == (200, 100, 1))
        let tall = try Self.jpeg(Self.halves(width: 90, height: 1000), width: 90, height: 1000)
        let tallThumbnail = try #require(Self.jpegSize(try Thumbnailer.jpeg(from: tall, mimeType: "image/jpeg")))
        #expect((tallThumbnail.width, tallThumbnail.height) == (29, 320))
    }

    @Test func everyPNGColourTypeAndRowFilterDecodesToTheSamePixels() throws {
        let (w, h) = (7, 11)  // odd sizes, more rows than filters
        var grey = [UInt8](), rgb = [UInt8](), rgba = [UInt8](), greyAlpha = [UInt8](), indices = [UInt8](), grey16 = [UInt8](), rgb16 = [UInt8]()
        for y in 0..<h {
            for x in 0..<w {
                let v = UInt8((x * 37 + y * 23) % 256)
                let (r, g, b) = (v, UInt8((x * 11) % 256), UInt8((y * 29) % 256))
                grey.append(v)
                rgb += [r, g, b]
                rgba += [r, g, b, x == 0 ? 0 : 255]
                greyAlpha += [v, x == 0 ? 0 : 255]
                indices.append(UInt8((x + y) % 3))
                grey16 += [v, 0x7F]
                rgb16 += [r, 1, g, 2, b, 3]
            }
        }
        func decode(_ png: [UInt8]) throws -> Thumbnailer.Pixels { try PNGReader.decode(png, side: 1000, maxPixels: Thumbnailer.maxPixels) }
        #expect(try decode(Self.png(grey, width: w, height: h, colourType: 0)).bytes == grey)
        #expect(try decode(Self.png(rgb, width: w, height: h, colourType: 2)).bytes == rgb)
        #expect(try decode(Self.png(grey16, width: w, height: h, colourType: 0, bitDepth: 16)).bytes == grey, "16 bits keep the high byte (the fake camera's depth maps)")
        #expect(try decode(Self.png(rgb16, width: w, height: h, colourType: 2, bitDepth: 16)).bytes == rgb)
        // Transparent pixels (column 0) come out white; opaque ones as they are.
        var overWhite = rgb
        var greyOverWhite = grey
        for y in 0..<h {
            overWhite.replaceSubrange(y * w * 3..<y * w * 3 + 3, with: [255, 255, 255])
            greyOverWhite[y * w] = 255
        }
        #expect(try decode(Self.png(rgba, width: w, height: h, colourType: 6)).bytes == overWhite)
        #expect(try decode(Self.png(greyAlpha, width: w, height: h, colourType: 4)).bytes == greyOverWhite)
        let palette: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255]
        let paletted = try decode(Self.png(indices, width: w, height: h, colourType: 3, palette: palette))
        #expect(paletted.bytes == indices.flatMap { Array(palette[Int($0) * 3..<Int($0) * 3 + 3]) })
    }

    @Test func aLargePNGIsScaledARowAtATimeAndThumbnailedAsJPEG() throws {
        let png = Self.png(Self.halves(width: 800, height: 600), width: 800, height: 600, colourType: 2)
        let pixels = try PNGReader.decode(png, side: Thumbnailer.side, maxPixels: Thumbnailer.maxPixels)
        #expect((pixels.width, pixels.height) == (320, 240))
        #expect(Self.pixel(pixels, 10, 10) == [220, 20, 20] && Self.pixel(pixels, 310, 230) == [20, 20, 220])
        #expect(Self.pixel(pixels, 159, 0) == [220, 20, 20] && Self.pixel(pixels, 160, 0) == [20, 20, 220], "the halves meet where they did")
        let thumbnail = try Thumbnailer.jpeg(from: png, mimeType: "image/png")
        #expect(Self.jpegSize(thumbnail).map { [$0.width, $0.height] } == [320, 240])
    }

    @Test func theBoxFilterAveragesTheSourcePixelsEachOutputPixelCovers() {
        var scaler = BoxScaler(sourceWidth: 4, sourceHeight: 2, width: 2, height: 1, components: 1)
        let rows: [[UInt8]] = [[0, 10, 100, 200], [20, 30, 0, 0]]
        for (y, row) in rows.enumerated() { row.withUnsafeBufferPointer { scaler.add(row: y, $0) } }
        #expect(scaler.finish().bytes == [15, 75])
        #expect(Thumbnailer.fitted(width: 4000, height: 3000, side: 320) == (320, 240))
        #expect(Thumbnailer.fitted(width: 10000, height: 10, side: 320) == (320, 1), "never 0 pixels high")
        #expect(Thumbnailer.fitted(width: 64, height: 48, side: 320) == (64, 48), "never enlarged")
    }

    @Test func damagedOversizedAndUnsupportedImagesAreRefusedWithTheReason() throws {
        func failure(_ bytes: [UInt8], _ type: String, maxPixels: Int = Thumbnailer.maxPixels) -> String? {
            do {
                _ = try Thumbnailer.jpeg(from: bytes, mimeType: type, maxPixels: maxPixels)
                return nil
            } catch {
                return error.description
            }
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            let noise = (0..<Int.random(in: 0..<2000, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect(failure(noise, "image/jpeg") != nil && failure(noise, "image/png") != nil)
        }
        // A gradient, so most of the file is entropy-coded data rather than tables.
        var gradient = [UInt8]()
        for i in 0..<(256 * 192) { gradient += [UInt8(i % 256), UInt8(i / 256), UInt8(i * 7 % 256)] }
        let jpeg = try Self.jpeg(gradient, width: 256, height: 192)
        // A JPEG cut short decodes as libjpeg does it (grey below the cut), like a browser shows it; a header alone does not.
        #expect(failure(Array(jpeg.prefix(jpeg.count * 3 / 4)), "image/jpeg") == nil)
        #expect(failure(Array(jpeg.prefix(100)), "image/jpeg")?.contains("does not decode") == true)
        #expect(failure(jpeg, "image/jpeg", maxPixels: 1000)?.contains("over the 1000-pixel limit") == true)
        // Flipped bits inside the JPEG's entropy-coded data: a result or a failure, never a crash.
        for i in stride(from: jpeg.count / 2, to: jpeg.count - 2, by: 97) {
            var damaged = jpeg
            damaged[i] ^= 0x5A
            _ = failure(damaged, "image/jpeg")
        }

        let png = Self.png(Self.halves(width: 64, height: 48), width: 64, height: 48, colourType: 2)
        #expect(failure(Array(png.prefix(png.count - 30)), "image/png") != nil, "cut short")
        var corrupt = png
        corrupt[60] ^= 0xFF  // inside the IDAT data
        #expect(failure(corrupt, "image/png") != nil, "damaged image data")
        #expect(failure(Self.png(Self.halves(width: 4, height: 4), width: 4, height: 4, colourType: 2, interlace: 1), "image/png")?.contains("interlaced") == true)
        #expect(failure(Self.png([0, 0, 0, 0], width: 8, height: 4, colourType: 0, bitDepth: 1), "image/png")?.contains("colour type 0 at 1 bits") == true)
        // A header claiming 100000 × 100000 pixels is refused before any image data is inflated.
        var huge = png
        huge.replaceSubrange(16..<24, with: [0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0])
        #expect(failure(huge, "image/png")?.contains("pixel limit") == true)
        #expect(failure(png, "image/webp")?.contains("no thumbnails for image/webp") == true)
    }

    @Test func theCacheDropsTheLeastRecentlyUsedAndMakesEachThumbnailOnce() async {
        let cache = ThumbnailCache(capacity: 300)
        let made = Counter()
        func entry(_ byte: UInt8) -> @Sendable () -> ThumbnailCache.Thumbnail {
            { made.add(); return ThumbnailCache.Thumbnail(bytes: [UInt8](repeating: byte, count: 100), contentType: "image/jpeg") }
        }
        _ = await cache.thumbnail("a", make: entry(1))
        _ = await cache.thumbnail("b", make: entry(2))
        _ = await cache.thumbnail("c", make: entry(3))
        #expect(await cache.bytes == 300 && made.value == 3)
        #expect(await cache.thumbnail("a", make: entry(9)).bytes.first == 1, "a hit: not made again, and now the most recent")
        _ = await cache.thumbnail("d", make: entry(4))
        #expect(await cache.bytes == 300 && made.value == 4)
        #expect(await cache.cached("b") == nil, "b was the least recently used")
        for kept in ["a", "c", "d"] { #expect(await cache.cached(kept) != nil, "\(kept) is kept") }
        _ = await cache.thumbnail("big", make: { ThumbnailCache.Thumbnail(bytes: [UInt8](repeating: 0, count: 301), contentType: "image/jpeg") })
        #expect(await cache.count == 3, "an entry larger than the whole cache is served but not kept")
        // Requests for the same thumbnail at once share one making of it.
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 { group.addTask { _ = await cache.thumbnail("e", make: entry(5)) } }
        }
        #expect(made.value == 5)
    }

    final class Counter: Sendable {
        let count = Mutex(0)
        func add() { count.withLock { $0 += 1 } }
        var value: Int { count.withLock { $0 } }
    }

    // MARK: Over HTTP

    @Test(arguments: StoreBackend.all) func theGalleryUsesServerThumbnailsWithETagsWithinTheOrganisation(_ backend: StoreBackend) async throws {
        let f = try await DashboardTests.Fixture.make(backend)
        defer { f.test.remove() }
        let now = f.clock.now().unixMilliseconds
        let original = try Self.jpeg(Self.halves(width: 1280, height: 960), width: 1280, height: 960)
        func store(_ org: String, _ name: String, _ type: String, _ bytes: [UInt8], at offset: Int64) async throws -> BinaryRecord {
            try await f.store.storeBinary(
                BinaryMetadata(
                    organizationID: org, robotID: "robot-1", partID: "part-1", componentType: "rdk:component:camera", componentName: "cam",
                    methodName: "ReadImage", fileName: name, mimeType: type, timeRequested: now - offset, timeReceived: now),
                bytes: bytes)
        }
        let photo = try await store(f.org, "photo.jpg", "image/jpeg", original, at: 10)
        let png = try await store(f.org, "frame.png", "image/png", Self.png(Self.halves(width: 640, height: 480), width: 640, height: 480, colourType: 2), at: 20)
        let broken = try await store(f.org, "broken.jpg", "image/jpeg", Array("not a jpeg at all".utf8), at: 30)
        let cloud = try await store(f.org, "scan.pcd", "pointcloud/pcd", Array("# .PCD v0.7\n".utf8), at: 40)
        let rival = try await store(f.otherOrg, "rival.jpg", "image/jpeg", original + [0], at: 50)
        try await f.run { client in
            var viewer = DashboardTests.Browser()
            #expect(try await viewer.get(client, "/files/\(photo.id)/thumb").status == .seeOther, "signed out: sent to sign in")
            _ = try await viewer.signIn(client, f.viewer)
            let gallery = DashboardTests.body(try await viewer.get(client, "/files"))
            for image in [photo, png, broken] {
                #expect(gallery.contains("src=\"/files/\(image.id)/thumb\""), "\(image.metadata.fileName) shows as a server thumbnail")
                #expect(!gallery.contains("/files/\(image.id)/raw"))
            }
            #expect(gallery.contains("class=\"tile\"") && gallery.contains("scan.pcd") && gallery.contains(">PCD</text>"), "a point cloud is a tile")
            #expect(!gallery.contains("/files/\(cloud.id)/raw") && !gallery.contains("/files/\(cloud.id)/thumb"), "with no <img> to break")

            let thumb = try await viewer.get(client, "/files/\(photo.id)/thumb")
            #expect(thumb.status == .ok && thumb.headers[.contentType] == "image/jpeg")
            let bytes = Array(buffer: thumb.body)
            #expect(bytes.count < original.count / 4, "\(bytes.count) bytes for a \(original.count)-byte original")
            #expect(Self.jpegSize(bytes).map { [$0.width, $0.height] } == [320, 240])
            let tag = try #require(thumb.headers[.eTag])
            #expect(tag.hasPrefix("\"t320-") && thumb.headers[.cacheControl] == "private, max-age=3600")
            var conditional = viewer.cookieHeader
            conditional[.ifNoneMatch] = "\"other\", \(tag)"
            let unchanged = try await client.execute(uri: "/files/\(photo.id)/thumb", method: .get, headers: conditional)
            #expect(unchanged.status == .notModified && unchanged.body.readableBytes == 0 && unchanged.headers[.eTag] == tag)
            let again = try await viewer.get(client, "/files/\(photo.id)/thumb")
            #expect(Array(buffer: again.body) == bytes, "served from the cache, the same bytes")

            let pngThumb = try await viewer.get(client, "/files/\(png.id)/thumb")
            #expect(pngThumb.headers[.contentType] == "image/jpeg" && Self.jpegSize(Array(buffer: pngThumb.body)).map { [$0.width, $0.height] } == [320, 240])
            #expect(pngThumb.headers[.eTag] != tag, "each file its own tag")
            let placeholder = try await viewer.get(client, "/files/\(broken.id)/thumb")
            #expect(placeholder.status == .ok && placeholder.headers[.contentType] == "image/svg+xml")
            #expect(DashboardTests.body(placeholder).contains("No preview") && placeholder.headers[.contentSecurityPolicy]?.contains("sandbox") == true)

            #expect(try await viewer.get(client, "/files/\(rival.id)/thumb").status == .notFound, "another organisation's file")
            #expect(try await viewer.get(client, "/files/no-such-file/thumb").status == .notFound)
        }
    }
}
