import FerryAPI
import FerryBSON
import FerryStore
import Foundation
import HTTPTypes
import Hummingbird

/// Files: the binary data as a gallery (images with their bounding boxes drawn and their tags),
/// filtered as `binary_data_by_filter` filters and paged; a full view with the metadata; download.
/// Payloads are read through the store's binary calls, scoped to the caller's organisation.
extension Dashboard {
    /// MIME types shown inline as images. Anything else (HTML, SVG, PDF…) a machine uploaded is
    /// only ever downloaded as an attachment: served inline from this origin it could run script.
    static let inlineImageTypes: Set<String> = ["image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp"]
    static let galleryPageSize = 24

    func registerFileRoutes(_ router: Router<DashboardContext>) {
        router.get("/files") { request, _ in
            await page(request, title: "Files", active: "/files") { session in try await filesPage(session, Form(request.uri.query)) }
        }
        router.get("/files/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await page(request, title: "File", active: "/files") { session in try await filePage(session, id: id) }
        }
        router.get("/files/:id/raw") { request, context in
            await payload(request, id: context.parameters.get("id") ?? "", attachment: false)
        }
        router.get("/files/:id/thumb") { request, context in
            await thumbnail(request, id: context.parameters.get("id") ?? "")
        }
        router.get("/files/:id/download") { request, context in
            await payload(request, id: context.parameters.get("id") ?? "", attachment: true)
        }
        router.get("/export/files.zip") { request, _ in await exportZIP(request) }
    }

    /// The filtered files as one ZIP, streamed a file at a time: `<id>-<file name>` per entry.
    func exportZIP(_ request: Request) async -> Response {
        guard let session = await session(request) else { return Self.redirect("/signin") }
        let form = Form(request.uri.query)
        let filter: BinaryFilter
        do {
            filter = binaryFilter(try DataFilter(form), form)
        } catch {
            return Self.html(HTML.page(title: "Export", session: session, csrf: csrf(session), body: HTML.alert(Self.message(error))), status: .badRequest)
        }
        let store = self.store
        let org = session.organizationID
        let logger = self.logger
        var headers = Self.securityHeaders
        headers[.contentType] = "application/zip"
        headers[.contentDisposition] = "attachment; filename=\"files.zip\""
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                var zip = ZipWriter()
                var cursor: BinaryCursor?
                do {
                    repeat {
                        let page = try await store.binaryPage(organizationID: org, filter: filter, descending: false, after: cursor, limit: 100)
                        for record in page.records {
                            guard let bytes = try await store.binaryData(organizationID: org, id: record.id) else { continue }
                            let name = BinaryDownloadServer.fileName(record)
                            let entry = try zip.add(
                                name: name == record.id ? record.id + record.metadata.fileExtension : "\(record.id)-\(name)", bytes: bytes,
                                modified: Date(unixMilliseconds: record.metadata.timeRequested))
                            try await writer.write(ByteBuffer(bytes: entry))
                        }
                        cursor = page.next
                    } while cursor != nil
                } catch is ZipWriter.Full {
                    logger.warning("dashboard ZIP export stopped at \(zip.count) files: a ZIP without ZIP64 holds at most 4 GiB and 65535 files; narrow the filter")
                } catch {
                    logger.warning("dashboard ZIP export stopped at \(zip.count) files: \(error)")
                }
                try await writer.write(ByteBuffer(bytes: zip.finish()))
                try await writer.finish(nil)
            })
    }

    func binaryFilter(_ filter: DataFilter, _ form: Form) -> BinaryFilter {
        var binary = BinaryFilter()
        binary.columns = filter.filter
        if !filter.tagSet.isEmpty { binary.tags = .matchAny(filter.tagSet) }
        if !form["label"].isEmpty { binary.boundingBoxLabels = [form["label"]] }
        if !form["mime"].isEmpty { binary.mimeTypes = [form["mime"]] }
        return binary
    }

    func filesPage(_ session: Session, _ form: Form) async throws -> String {
        let filter = try DataFilter(form)
        var cursor: BinaryCursor?
        if !form["after"].isEmpty {
            guard let parsed = BinaryCursor(token: form["after"]) else {
                throw PageError("the page link is not one this server made; go back to the first page")
            }
            cursor = parsed
        }
        let page = try await storeCall {
            try await store.binaryPage(
                organizationID: session.organizationID, filter: binaryFilter(filter, form), descending: true, after: cursor,
                limit: Self.galleryPageSize)
        }
        var out = """
            <form method="get" action="/files" class="filters" id="file-filters" aria-label="Filter files">
            \(filter.inputs)
            \(HTML.input("label", label: "Bounding-box label", value: form["label"]))
            \(HTML.input("mime", label: "MIME type", value: form["mime"], placeholder: "image/jpeg"))
            <button type="submit">Apply</button>
            </form>
            """
        if page.records.isEmpty {
            return out + HTML.notice(cursor == nil ? "No files match these filters." : "No more files.")
        }
        out += "<ul class=\"gallery\" id=\"gallery\">"
        for record in page.records {
            let m = record.metadata
            out += "<li><figure><a href=\"/files/\(HTML.esc(record.id))\">\(preview(record, thumbnail: true))</a><figcaption>"
                + "\(HTML.esc(m.componentName)) · \(HTML.esc(HTML.time(m.timeRequested)))"
                + (m.tags.isEmpty ? "" : "<br>tags: \(HTML.esc(m.tags.joined(separator: ", ")))")
                + (m.boundingBoxLabels.isEmpty ? "" : "<br>boxes: \(HTML.esc(m.boundingBoxLabels.joined(separator: ", ")))")
                + "</figcaption></figure></li>"
        }
        out += "</ul>"
        let base = filter.pairs + [("label", form["label"]), ("mime", form["mime"])]
        var pager = "<nav class=\"pager\" aria-label=\"Pages\">"
        if cursor != nil { pager += "<a href=\"/files?\(HTML.esc(HTML.query(base)))\" id=\"first-page\">First page</a>" }
        pager += "<a href=\"/export/files.zip?\(HTML.esc(HTML.query(base)))\" id=\"export-zip\">Download these files as a ZIP</a>"
        if let next = page.next {
            pager += "<a href=\"/files?\(HTML.esc(HTML.query(base + [("after", next.token)])))\" id=\"next-page\" rel=\"next\">Next page</a>"
        }
        return out + pager + "</nav>"
    }

    /// An image with its bounding boxes drawn over it (an SVG in the image's normalized
    /// coordinates, so it lines up with the thumbnail as with the full image), or, for anything
    /// that is not an image shown inline, a tile with its kind and name.
    func preview(_ record: BinaryRecord, thumbnail: Bool) -> String {
        let m = record.metadata
        guard Self.inlineImageTypes.contains(m.mimeType) else { return Self.fileTile(record) }
        let boxes = (m.annotations?["bboxes"]?.arrayValue ?? []).compactMap { $0.documentValue.flatMap(BoundingBox.init(document:)) }
        var svg = "<svg class=\"boxes\" viewBox=\"0 0 100 100\" preserveAspectRatio=\"none\" aria-hidden=\"true\">"
        for box in boxes {
            func pct(_ v: Double) -> String { String(format: "%.2f", min(max(v, 0), 1) * 100) }
            svg += "<rect class=\"bbox\" x=\"\(pct(box.xMin))\" y=\"\(pct(box.yMin))\" width=\"\(pct(box.xMax - box.xMin))\" height=\"\(pct(box.yMax - box.yMin))\" fill=\"none\" stroke=\"#f5a623\" stroke-width=\"2\" vector-effect=\"non-scaling-stroke\"><title>\(HTML.esc(box.label))</title></rect>"
        }
        svg += "</svg>"
        let alt = "\(m.componentName) \(m.methodName) at \(HTML.time(m.timeRequested))"
            + (boxes.isEmpty ? "" : ", boxes: " + boxes.map(\.label).joined(separator: ", "))
        // The gallery gets a thumbnail made on the server where it can make one.
        let source = thumbnail && Thumbnailer.types.contains(m.mimeType) ? "thumb" : "raw"
        return "<span class=\"\(thumbnail ? "thumb" : "full")\"><img src=\"/files/\(HTML.esc(record.id))/\(source)\" alt=\"\(HTML.esc(alt))\" loading=\"lazy\">\(svg)</span>"
    }

    /// A file the browser does not show (a point cloud, a binary blob, a page): its extension in
    /// a document icon, its name and MIME type. No <img>, so nothing to break.
    static func fileTile(_ record: BinaryRecord) -> String {
        let m = record.metadata
        let name = m.fileName.isEmpty ? record.id : m.fileName + (m.fileName.hasSuffix(m.fileExtension) ? "" : m.fileExtension)
        let dot = name.lastIndex(of: ".").map { name[name.index(after: $0)...] } ?? ""
        let kind = dot.isEmpty || dot.count > 5 ? "FILE" : dot.uppercased()
        return "<span class=\"tile\" role=\"img\" aria-label=\"\(HTML.esc("\(name), \(m.mimeType), no preview"))\">"
            + "<svg class=\"icon\" viewBox=\"0 0 48 60\" aria-hidden=\"true\"><path d=\"M2 2h30l14 14v42H2z\" fill=\"#fff\" stroke=\"#555\" stroke-width=\"2\"/>"
            + "<path d=\"M32 2v14h14\" fill=\"none\" stroke=\"#555\" stroke-width=\"2\"/>"
            + "<text x=\"24\" y=\"42\" font-size=\"11\" font-family=\"sans-serif\" text-anchor=\"middle\" fill=\"#1a1a1a\">\(HTML.esc(kind))</text></svg>"
            + "<span class=\"file\">\(HTML.esc(name))</span><span class=\"muted\">\(HTML.esc(m.mimeType))</span></span>"
    }

    /// `/files/ID/thumb`: the image scaled to fit 320 × 320 as JPEG, made once and cached, with an
    /// ETag (from the payload's SHA-256) and a cache lifetime, so the browser reuses it. An image
    /// that cannot be thumbnailed (damaged, too large, another kind) gets a "No preview" tile.
    func thumbnail(_ request: Request, id: String) async -> Response {
        guard let session = await session(request) else { return Self.redirect("/signin") }
        let org = session.organizationID
        guard let record = try? await store.binary(organizationID: org, id: id) else {
            return Self.html(HTML.page(title: "File", session: session, csrf: csrf(session), body: HTML.alert("no file \(id) in this organisation")), status: .notFound)
        }
        let tag = "\"t\(Thumbnailer.side)-\(record.sha256.isEmpty ? record.id : String(record.sha256.prefix(32)))\""
        var headers = Self.securityHeaders
        headers[.contentSecurityPolicy] = "default-src 'none'; sandbox"
        // A file's bytes never change under its id: the browser keeps the thumbnail and asks again only after an hour.
        headers[.cacheControl] = "private, max-age=3600"
        headers[.eTag] = tag
        if Self.matches(request.headers[.ifNoneMatch], tag) { return Response(status: .notModified, headers: headers) }
        let key = "\(org)/\(record.id)/\(tag)"
        let (store, logger, mimeType) = (self.store, self.logger, record.metadata.mimeType)
        var thumbnail = await thumbnails.cached(key)
        if thumbnail == nil {
            guard let bytes = try? await store.binaryData(organizationID: org, id: id) else {
                return Self.html(HTML.page(title: "File", session: session, csrf: csrf(session), body: HTML.alert("no file \(id) in this organisation")), status: .notFound)
            }
            thumbnail = await thumbnails.thumbnail(key) {
                do {
                    return ThumbnailCache.Thumbnail(bytes: try Thumbnailer.jpeg(from: bytes, mimeType: mimeType), contentType: "image/jpeg")
                } catch {
                    logger.debug("no thumbnail for file \(id): \(error)")
                    return ThumbnailCache.Thumbnail(bytes: Thumbnailer.placeholder("No preview: \(error)"), contentType: "image/svg+xml")
                }
            }
        }
        guard let thumbnail else { return Response(status: .internalServerError) }
        headers[.contentType] = thumbnail.contentType
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: thumbnail.bytes)))
    }

    /// Whether an If-None-Match header names `tag` (or is `*`); weak tags compare equal too.
    static func matches(_ header: String?, _ tag: String) -> Bool {
        guard let header else { return false }
        return header.split(separator: ",").contains { part in
            let candidate = part.trimmingCharacters(in: .whitespaces)
            return candidate == "*" || candidate == tag || candidate == "W/" + tag
        }
    }

    func filePage(_ session: Session, id: String) async throws -> String {
        let found = try await storeCall { try await store.binary(organizationID: session.organizationID, id: id) }
        guard let record = found else { throw PageError("no file \(id) in this organisation", status: .notFound) }
        let m = record.metadata
        let boxes = (m.annotations?["bboxes"]?.arrayValue ?? []).compactMap { $0.documentValue.flatMap(BoundingBox.init(document:)) }
        let rows: [(String, String)] = [
            ("Id", record.id), ("File name", m.fileName + (m.fileName.hasSuffix(m.fileExtension) ? "" : m.fileExtension)), ("MIME type", m.mimeType),
            ("Size", "\(record.size) bytes"), ("Machine", m.robotID), ("Location", m.locationID), ("Part", m.partID),
            ("Component", "\(m.componentType) \(m.componentName)"), ("Method", m.methodName), ("Captured", HTML.time(m.timeRequested)),
            ("Received", HTML.time(m.timeReceived)), ("Tags", m.tags.joined(separator: ", ")),
            ("Bounding boxes", boxes.map { "\($0.label)\($0.confidence.map { String(format: " (%.2f)", $0) } ?? "")" }.joined(separator: ", ")),
            ("SHA-256", record.sha256),
        ]
        return preview(record, thumbnail: false)
            + "<p><a href=\"/files/\(HTML.esc(record.id))/download\" id=\"download\" download>Download</a></p>"
            + "<dl class=\"meta\">" + rows.map { "<dt>\(HTML.esc($0.0))</dt><dd>\(HTML.esc($0.1))</dd>" }.joined() + "</dl>"
    }

    /// The payload's bytes: an image inline (for the gallery), anything else, or on request, as an attachment.
    func payload(_ request: Request, id: String, attachment: Bool) async -> Response {
        guard let session = await session(request) else { return Self.redirect("/signin") }
        let org = session.organizationID
        guard let record = try? await store.binary(organizationID: org, id: id), let bytes = try? await store.binaryData(organizationID: org, id: id)
        else {
            return Self.html(HTML.page(title: "File", session: session, csrf: csrf(session), body: HTML.alert("no file \(id) in this organisation")), status: .notFound)
        }
        let inline = !attachment && Self.inlineImageTypes.contains(record.metadata.mimeType)
        var headers = Self.securityHeaders
        // Never a document of this origin: no script, no plugins, whatever the bytes say.
        headers[.contentSecurityPolicy] = "default-src 'none'; sandbox"
        headers[.contentType] = inline ? record.metadata.mimeType : "application/octet-stream"
        headers[.cacheControl] = "private, max-age=300"
        if !inline { headers[.contentDisposition] = "attachment; filename=\"\(BinaryDownloadServer.fileName(record))\"" }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
