import CFerryImageCheck
import Foundation

/// Server-made thumbnails for the gallery (`/files/ID/thumb`): a JPEG or PNG scaled to fit
/// `side` × `side` and re-encoded as JPEG, so a page of 24 camera frames costs a few hundred
/// kilobytes instead of the frames themselves. A JPEG is decoded at 1/2, 1/4 or 1/8 size by
/// libjpeg's DCT scaling; a PNG is inflated and unfiltered a row at a time. Either way the last
/// step is a box filter (each output pixel the mean of the source pixels it covers), so the
/// thumbnail keeps the image's aspect ratio and normalized bounding boxes still line up.
/// Memory stays bounded: images over `maxPixels` are refused before decoding, libjpeg's working
/// memory is capped, and a PNG never holds more than two rows plus the thumbnail.
enum Thumbnailer {
    /// The longest side of a thumbnail, in pixels.
    static let side = 320
    /// Images larger than this get no thumbnail (the gallery shows a placeholder and the full view still works).
    static let maxPixels = 50_000_000
    /// libjpeg's working memory for one decode (a progressive JPEG keeps all its coefficients).
    static let maxDecoderMemory = 256 << 20
    static let quality: Int32 = 80
    /// What can be thumbnailed; other images are shown as they are, anything else as a tile.
    static let types: Set<String> = ["image/jpeg", "image/png"]

    struct Failure: Error, CustomStringConvertible, Equatable {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// 8-bit pixels, rows top to bottom: 1 component (grey) or 3 (RGB).
    struct Pixels: Equatable {
        var width: Int
        var height: Int
        var components: Int
        var bytes: [UInt8]
    }

    /// The thumbnail of `bytes` as JPEG, fitting `side` × `side`.
    static func jpeg(from bytes: [UInt8], mimeType: String, side: Int = side, maxPixels: Int = maxPixels) throws(Failure) -> [UInt8] {
        let pixels: Pixels
        switch mimeType {
        case "image/jpeg": pixels = try decodeJPEG(bytes, side: side, maxPixels: maxPixels)
        case "image/png": pixels = try PNGReader.decode(bytes, side: side, maxPixels: maxPixels)
        default: throw Failure("no thumbnails for \(mimeType) (only image/jpeg and image/png)")
        }
        return try encodeJPEG(pixels)
    }

    /// The size of a `width` × `height` image scaled to fit `side` × `side` (never enlarged, never 0).
    static func fitted(width: Int, height: Int, side: Int) -> (width: Int, height: Int) {
        let longest = max(width, height)
        guard longest > side else { return (width, height) }
        let scale = Double(side) / Double(longest)
        return (max(1, Int((Double(width) * scale).rounded())), max(1, Int((Double(height) * scale).rounded())))
    }

    static func decodeJPEG(_ bytes: [UInt8], side: Int, maxPixels: Int) throws(Failure) -> Pixels {
        var buffer: UnsafeMutablePointer<UInt8>?
        var width: UInt32 = 0, height: UInt32 = 0, components: UInt32 = 0
        var error = [CChar](repeating: 0, count: 256)
        let status = bytes.withUnsafeBufferPointer { input in
            ferry_thumbnail_decode_jpeg(
                input.baseAddress, input.count, UInt32(side), UInt64(maxPixels), maxDecoderMemory, &buffer, &width, &height, &components,
                &error, error.count)
        }
        guard status == 0, let buffer else { throw Failure("the JPEG does not decode: \(text(error))") }
        defer { ferry_thumbnail_free(buffer) }
        let (w, h, c) = (Int(width), Int(height), Int(components))
        let size = fitted(width: w, height: h, side: side)
        var scaler = BoxScaler(sourceWidth: w, sourceHeight: h, width: size.width, height: size.height, components: c)
        for y in 0..<h { scaler.add(row: y, UnsafeBufferPointer(start: buffer + y * w * c, count: w * c)) }
        return scaler.finish()
    }

    static func encodeJPEG(_ pixels: Pixels) throws(Failure) -> [UInt8] {
        var output: UnsafeMutablePointer<UInt8>?
        var length = 0
        var error = [CChar](repeating: 0, count: 256)
        let status = pixels.bytes.withUnsafeBufferPointer { input in
            ferry_thumbnail_encode_jpeg(
                input.baseAddress, UInt32(pixels.width), UInt32(pixels.height), UInt32(pixels.components), quality, &output, &length,
                &error, error.count)
        }
        guard status == 0, let output else { throw Failure("the thumbnail does not encode: \(text(error))") }
        defer { ferry_thumbnail_free(output) }
        return Array(UnsafeBufferPointer(start: output, count: length))
    }

    static func text(_ error: [CChar]) -> String {
        String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// What the gallery shows when an image has no thumbnail (too large, damaged, a kind it cannot
    /// decode): a grey tile saying so, as an SVG image, so the page never has a broken image.
    static func placeholder(_ reason: String) -> [UInt8] {
        Array(
            """
            <svg xmlns="http://www.w3.org/2000/svg" width="320" height="240" viewBox="0 0 320 240"><title>\(HTML.esc(reason))</title>\
            <rect width="320" height="240" fill="#eeeeee"/><text x="160" y="125" font-family="sans-serif" font-size="18" \
            text-anchor="middle" fill="#444444">No preview</text></svg>
            """.utf8)
    }
}

/// Averages source rows into a smaller image as they arrive: every source pixel adds to the one
/// output pixel that covers it, so the whole source is never held.
struct BoxScaler {
    let sourceWidth: Int
    let sourceHeight: Int
    let width: Int
    let height: Int
    let components: Int
    /// The output column of each source column.
    private let columns: [Int]
    private var sums: [UInt64]
    private var counts: [UInt32]

    init(sourceWidth: Int, sourceHeight: Int, width: Int, height: Int, components: Int) {
        self.sourceWidth = sourceWidth
        self.sourceHeight = sourceHeight
        self.width = width
        self.height = height
        self.components = components
        columns = (0..<sourceWidth).map { $0 * width / sourceWidth }
        sums = Array(repeating: 0, count: width * height * components)
        counts = Array(repeating: 0, count: width * height)
    }

    /// Adds source row `y`: `sourceWidth` × `components` bytes.
    mutating func add(row y: Int, _ row: UnsafeBufferPointer<UInt8>) {
        let outRow = y * height / sourceHeight
        let (components, columns) = (self.components, self.columns)
        sums.withUnsafeMutableBufferPointer { sums in
            counts.withUnsafeMutableBufferPointer { counts in
                for x in 0..<sourceWidth {
                    let pixel = outRow * width + columns[x]
                    counts[pixel] += 1
                    for c in 0..<components { sums[pixel * components + c] += UInt64(row[x * components + c]) }
                }
            }
        }
    }

    func finish() -> Thumbnailer.Pixels {
        var bytes = [UInt8](repeating: 0, count: sums.count)
        for pixel in 0..<counts.count where counts[pixel] > 0 {
            let n = UInt64(counts[pixel])
            for c in 0..<components { bytes[pixel * components + c] = UInt8((sums[pixel * components + c] + n / 2) / n) }
        }
        return Thumbnailer.Pixels(width: width, height: height, components: components, bytes: bytes)
    }
}

/// The PNGs cameras and the fake camera write: non-interlaced greyscale, grey + alpha, RGB and RGBA
/// of 8 or 16 bits, and 8-bit palette images. Alpha is composited over white (a JPEG has none);
/// 16-bit samples keep their high byte. Anything else is refused with the reason. Chunk CRCs are
/// not checked: the image data's own Adler-32 (checked by zlib) catches damage where it matters.
enum PNGReader {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    struct Header {
        var width: Int
        var height: Int
        var bitDepth: Int
        var colourType: Int
        var interlace: Int
        /// Samples per pixel in the file.
        var channels: Int {
            switch colourType {
            case 0, 3: 1
            case 4: 2
            case 2: 3
            default: 4
            }
        }
    }

    static func decode(_ bytes: [UInt8], side: Int, maxPixels: Int) throws(Thumbnailer.Failure) -> Thumbnailer.Pixels {
        typealias Failure = Thumbnailer.Failure
        guard bytes.count > 8, Array(bytes[0..<8]) == signature else { throw Failure("not a PNG: no PNG signature") }
        var header: Header?
        var palette: [UInt8] = []
        var data: [UInt8] = []
        var offset = 8
        func be32(_ at: Int) -> Int { Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3]) }
        chunks: while true {
            guard offset + 12 <= bytes.count else { throw Failure("the PNG ends without an IEND chunk (truncated?)") }
            let length = be32(offset)
            let type = String(decoding: bytes[offset + 4..<offset + 8], as: UTF8.self)
            guard length <= bytes.count - offset - 12 else { throw Failure("PNG chunk \(type) runs past the end of the file") }
            let body = offset + 8..<offset + 8 + length
            switch type {
            case "IHDR":
                guard length == 13 else { throw Failure("PNG IHDR is \(length) bytes, not 13") }
                header = Header(
                    width: be32(body.lowerBound), height: be32(body.lowerBound + 4), bitDepth: Int(bytes[body.lowerBound + 8]),
                    colourType: Int(bytes[body.lowerBound + 9]), interlace: Int(bytes[body.lowerBound + 12]))
            case "PLTE": palette = Array(bytes[body])
            case "IDAT": data += bytes[body]
            case "IEND": break chunks
            default: break
            }
            offset = body.upperBound + 4
        }
        guard let header else { throw Failure("the PNG has no IHDR chunk") }
        guard header.width > 0, header.height > 0 else { throw Failure("the PNG is \(header.width)x\(header.height) pixels") }
        guard header.width <= maxPixels, header.height <= maxPixels, header.width * header.height <= maxPixels else {
            throw Failure("the image is \(header.width)x\(header.height) pixels, over the \(maxPixels)-pixel limit for thumbnails")
        }
        guard header.interlace == 0 else { throw Failure("interlaced PNGs get no thumbnail") }
        let supported =
            switch header.colourType {
            case 0, 2, 4, 6: header.bitDepth == 8 || header.bitDepth == 16
            case 3: header.bitDepth == 8
            default: false
            }
        guard supported else {
            throw Failure("PNGs of colour type \(header.colourType) at \(header.bitDepth) bits get no thumbnail")
        }
        if header.colourType == 3, palette.isEmpty || palette.count % 3 != 0 {
            throw Failure("the palette PNG has no valid PLTE chunk")
        }
        return try rows(header, palette: palette, data: data, side: side)
    }

    /// Inflates, unfilters, converts and scales one row at a time.
    static func rows(_ header: Header, palette: [UInt8], data: [UInt8], side: Int) throws(Thumbnailer.Failure) -> Thumbnailer.Pixels {
        let sampleBytes = header.bitDepth / 8
        let pixelBytes = header.channels * sampleBytes
        let stride = header.width * pixelBytes
        let components = header.colourType == 0 || header.colourType == 4 ? 1 : 3
        let size = Thumbnailer.fitted(width: header.width, height: header.height, side: side)
        var scaler = BoxScaler(
            sourceWidth: header.width, sourceHeight: header.height, width: size.width, height: size.height, components: components)
        var previous = [UInt8](repeating: 0, count: stride)
        var current = [UInt8](repeating: 0, count: stride + 1)
        var converted = [UInt8](repeating: 0, count: header.width * components)
        var error = [CChar](repeating: 0, count: 256)
        return try data.withUnsafeBufferPointer { input throws(Thumbnailer.Failure) in
            guard let inflater = ferry_inflater_new(input.baseAddress, input.count) else {
                throw Thumbnailer.Failure("cannot start inflating the PNG's image data")
            }
            defer { ferry_inflater_free(inflater) }
            for y in 0..<header.height {
                let status = current.withUnsafeMutableBufferPointer { ferry_inflater_read(inflater, $0.baseAddress, $0.count, &error, error.count) }
                guard status == 0 else { throw Thumbnailer.Failure("the PNG's image data does not inflate: \(Thumbnailer.text(error))") }
                try unfilter(&current, previous: previous, pixelBytes: pixelBytes)
                convert(current, into: &converted, header, palette: palette, sampleBytes: sampleBytes)
                converted.withUnsafeBufferPointer { scaler.add(row: y, $0) }
                previous.withUnsafeMutableBufferPointer { out in
                    current.withUnsafeBufferPointer { row in
                        for i in 0..<stride { out[i] = row[i + 1] }
                    }
                }
            }
            guard ferry_inflater_finish(inflater, &error, error.count) == 0 else {
                throw Thumbnailer.Failure("the PNG's image data does not inflate: \(Thumbnailer.text(error))")
            }
            return scaler.finish()
        }
    }

    /// Undoes the row's filter in place; `row[0]` is the filter type, `previous` the row above, unfiltered.
    static func unfilter(_ row: inout [UInt8], previous: [UInt8], pixelBytes: Int) throws(Thumbnailer.Failure) {
        let filter = row[0]
        guard filter <= 4 else { throw Thumbnailer.Failure("PNG row filter \(filter) does not exist") }
        guard filter != 0 else { return }
        row.withUnsafeMutableBufferPointer { row in
            previous.withUnsafeBufferPointer { up in
                for i in 0..<up.count {
                    let a = i >= pixelBytes ? Int(row[i + 1 - pixelBytes]) : 0
                    let b = Int(up[i])
                    let c = i >= pixelBytes ? Int(up[i - pixelBytes]) : 0
                    let predictor: Int
                    switch filter {
                    case 1: predictor = a
                    case 2: predictor = b
                    case 3: predictor = (a + b) / 2
                    default:
                        let p = a + b - c
                        let (pa, pb, pc) = (abs(p - a), abs(p - b), abs(p - c))
                        predictor = pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)
                    }
                    row[i + 1] = row[i + 1] &+ UInt8(truncatingIfNeeded: predictor)
                }
            }
        }
    }

    /// One unfiltered row (after its filter byte) to 8-bit grey or RGB.
    static func convert(_ row: [UInt8], into out: inout [UInt8], _ header: Header, palette: [UInt8], sampleBytes: Int) {
        let channels = header.channels
        let colours = palette.count / 3
        row.withUnsafeBufferPointer { row in
            out.withUnsafeMutableBufferPointer { out in
                // The high byte of sample `s` of pixel `x`.
                func sample(_ x: Int, _ s: Int) -> Int { Int(row[1 + (x * channels + s) * sampleBytes]) }
                func over(_ value: Int, _ alpha: Int) -> UInt8 { UInt8((value * alpha + 255 * (255 - alpha) + 127) / 255) }
                for x in 0..<header.width {
                    switch header.colourType {
                    case 0: out[x] = UInt8(sample(x, 0))
                    case 4: out[x] = over(sample(x, 0), sample(x, 1))
                    case 2: for c in 0..<3 { out[x * 3 + c] = UInt8(sample(x, c)) }
                    case 6:
                        let alpha = sample(x, 3)
                        for c in 0..<3 { out[x * 3 + c] = over(sample(x, c), alpha) }
                    default:
                        // An index past the palette is black, as browsers draw it.
                        let index = sample(x, 0)
                        for c in 0..<3 { out[x * 3 + c] = index < colours ? palette[index * 3 + c] : 0 }
                    }
                }
            }
        }
    }
}

/// The thumbnails this process made, keyed by organisation, file and content hash; the least
/// recently used are dropped past `capacity` bytes. At most `workers` thumbnails are made at
/// once, off Swift's cooperative pool (decoding is CPU-bound), and a thumbnail being made is
/// shared by every request that asks for it meanwhile.
actor ThumbnailCache {
    struct Thumbnail: Sendable {
        let bytes: [UInt8]
        let contentType: String
    }

    private struct Entry {
        var thumbnail: Thumbnail
        var lastUse: UInt64
    }

    let capacity: Int
    let workers: Int
    private var entries: [String: Entry] = [:]
    private var making: [String: Task<Thumbnail, Never>] = [:]
    private(set) var bytes = 0
    private var clock: UInt64 = 0
    private var busy = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(capacity: Int, workers: Int = 2) {
        self.capacity = capacity
        self.workers = max(1, workers)
    }

    var count: Int { entries.count }

    func cached(_ key: String) -> Thumbnail? {
        guard var entry = entries[key] else { return nil }
        clock += 1
        entry.lastUse = clock
        entries[key] = entry
        return entry.thumbnail
    }

    /// The cached thumbnail of `key`, or the one `make` makes (then cached).
    func thumbnail(_ key: String, make: @escaping @Sendable () -> Thumbnail) async -> Thumbnail {
        if let hit = cached(key) { return hit }
        if let pending = making[key] { return await pending.value }
        let task = Task { await self.run(make) }
        making[key] = task
        let thumbnail = await task.value
        making[key] = nil
        insert(key, thumbnail)
        return thumbnail
    }

    private func run(_ make: @escaping @Sendable () -> Thumbnail) async -> Thumbnail {
        if busy >= workers { await withCheckedContinuation { waiting.append($0) } } else { busy += 1 }
        defer {
            // Hands the slot straight to the next waiter (busy stays counted), or frees it.
            if waiting.isEmpty { busy -= 1 } else { waiting.removeFirst().resume() }
        }
        return await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async { continuation.resume(returning: make()) }
        }
    }

    func insert(_ key: String, _ thumbnail: Thumbnail) {
        let cost = thumbnail.bytes.count
        guard cost <= capacity else { return }
        if let old = entries[key] { bytes -= old.thumbnail.bytes.count }
        clock += 1
        entries[key] = Entry(thumbnail: thumbnail, lastUse: clock)
        bytes += cost
        // A linear scan per eviction: the cache holds a few thousand small entries at most.
        while bytes > capacity, let oldest = entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
            bytes -= oldest.value.thumbnail.bytes.count
            entries[oldest.key] = nil
        }
    }
}
