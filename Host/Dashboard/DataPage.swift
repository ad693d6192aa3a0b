import FerryAPI
import FerryBSON
import FerryClock
import FerryStore
import Hummingbird
import Foundation

/// Data: readings by the filters of `binary_data_by_filter` (machine, location, part, component,
/// method, time range, tags), newest first and paged, every filter in the store's query; a chart of
/// a numeric field per component, reduced in the store (see `chartSection`); export of the filtered readings.
extension Dashboard {
    /// The filter fields of the Data page, as the form sends them.
    struct DataFilter: Sendable {
        var machine, location, part, component, method, from, to, tags: String
        var filter = ReadingFilter()
        var tagSet: Set<String> = []

        init(_ form: Form) throws {
            machine = form["machine"]
            location = form["location"]
            part = form["part"]
            component = form["component"]
            method = form["method"]
            from = form["from"]
            to = form["to"]
            tags = form["tags"]
            for (value, column) in [
                (machine, ReadingFilter.Column.robotID), (location, .locationID), (part, .partID), (component, .componentName),
                (method, .methodName),
            ] where !value.isEmpty {
                filter.restrict(column, to: [value])
            }
            if !from.isEmpty {
                filter.timeReceived.atLeast(try Self.time(from, field: "From"))
            }
            if !to.isEmpty {
                filter.timeReceived.atMost(try Self.time(to, field: "To"))
            }
            tagSet = Set(tags.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
            if !tagSet.isEmpty { filter.anyTag = tagSet }
        }

        /// The fields to carry into links (paging, export, chart).
        var pairs: [(String, String)] {
            [("machine", machine), ("location", location), ("part", part), ("component", component), ("method", method), ("from", from),
             ("to", to), ("tags", tags)]
        }

        /// `2026-01-31T14:00`, with or without seconds, or full ISO 8601; times without a zone are UTC.
        static func time(_ text: String, field: String) throws -> Int64 {
            let iso = ISO8601DateFormatter()
            iso.formatOptions = [.withInternetDateTime]
            if let date = iso.date(from: text) { return date.unixMilliseconds }
            iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            if let date = iso.date(from: text) { return date.unixMilliseconds }
            for format in ["yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-dd"] {
                let formatter = DateFormatter()
                formatter.locale = Locale(identifier: "en_US_POSIX")
                formatter.timeZone = TimeZone(identifier: "UTC")
                formatter.dateFormat = format
                if let date = formatter.date(from: text) { return date.unixMilliseconds }
            }
            throw PageError("\(field): \"\(text)\" is not a time; write it as 2026-01-31T14:00 (UTC) or in ISO 8601 with a zone")
        }
    }

    static let defaultPageSize = 25

    /// A page of readings matching `filter` (tags too, in the store's query), newest first, after
    /// `cursor`; and where the next page starts.
    func readingsPage(_ org: String, _ filter: DataFilter, after cursor: ReadingCursor?, limit: Int) async throws
        -> (documents: [BSONDocument], next: ReadingCursor?)
    {
        let page = try await storeCall {
            try await store.readingsPage(
                organizationID: org, source: .standard, filter: filter.filter, sortByTimeDescending: true, after: cursor, limit: limit)
        }
        return (page.documents, page.next)
    }

    func dataPage(_ session: Session, _ form: Form) async throws -> String {
        let filter = try DataFilter(form)
        let limit = Self.limit(form)
        var out = """
            <form method="get" action="/data" class="filters" id="filters" aria-label="Filter readings">
            \(filter.inputs)
            \(HTML.input("limit", label: "Per page", value: "\(limit)", type: "number"))
            \(HTML.input("chart", label: "Chart field (under data)", value: form["chart"], placeholder: "readings.temperature"))
            <button type="submit">Apply</button>
            </form>
            """
        if !form["chart"].isEmpty {
            out += try await chartSection(session, filter, field: form["chart"], points: Int(form["points"]) ?? 400)
        }
        // The first page follows new readings by itself; later pages stay where they are.
        let table = try await readingsSection(session, form)
        guard form["after"].isEmpty else { return out + table }
        let live = "/data/fragment?" + HTML.query(filter.pairs + [("limit", form["limit"]), ("chart", form["chart"])])
        return out + "<div id=\"readings-live\" data-refresh=\"\(HTML.esc(live))\" data-every=\"10000\" aria-live=\"polite\">\(table)</div>"
    }

    static func limit(_ form: Form) -> Int { min(max(Int(form["limit"]) ?? Self.defaultPageSize, 1), 500) }

    /// The readings table of the Data page with its pager and export links (also the live fragment).
    func readingsSection(_ session: Session, _ form: Form) async throws -> String {
        let filter = try DataFilter(form)
        let limit = Self.limit(form)
        var cursor: ReadingCursor?
        if !form["after"].isEmpty {
            guard let parsed = ReadingCursor(token: form["after"]) else {
                throw PageError("the page link is not one this server made; go back to the first page")
            }
            cursor = parsed
        }
        var out = ""
        let page = try await readingsPage(session.organizationID, filter, after: cursor, limit: limit)
        let rows = page.documents.map { d -> [String] in
            var time = ""
            if case .datetime(let ms)? = d["time_received"] { time = HTML.time(ms) }
            return [
                HTML.esc(time), HTML.esc(d["robot_id"]?.stringValue ?? ""), HTML.esc(d["location_id"]?.stringValue ?? ""),
                HTML.esc(d["part_id"]?.stringValue ?? ""),
                HTML.esc([d["component_type"]?.stringValue ?? "", d["component_name"]?.stringValue ?? ""].joined(separator: " ")),
                HTML.esc(d["method_name"]?.stringValue ?? ""),
                HTML.esc((d["tags"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ", ")),
                "<code>\(HTML.esc((d["data"] ?? .null).extendedJSON()))</code>",
            ]
        }
        let base = filter.pairs + [("limit", limit == Self.defaultPageSize ? "" : "\(limit)"), ("chart", form["chart"])]
        var pager = "<nav class=\"pager\" aria-label=\"Pages\">"
        if cursor != nil { pager += "<a href=\"/data?\(HTML.esc(HTML.query(base)))\" id=\"first-page\">First page</a>" }
        if let next = page.next {
            pager += "<a href=\"/data?\(HTML.esc(HTML.query(base + [("after", next.token)])))\" id=\"next-page\" rel=\"next\">Next page</a>"
        }
        pager += "<a href=\"/data/export.jsonl?\(HTML.esc(HTML.query(filter.pairs)))\">Export JSON lines</a>"
        pager += "<a href=\"/data/export.csv?\(HTML.esc(HTML.query(filter.pairs)))\">Export CSV</a></nav>"
        out += page.documents.isEmpty
            ? HTML.notice(cursor == nil ? "No readings match these filters." : "No more readings.")
            : HTML.table(
                caption: "Readings, newest first (\(page.documents.count) on this page)",
                headers: ["Received", "Machine", "Location", "Part", "Component", "Method", "Tags", "Data"], rows: rows, id: "readings")
        return out + pager
    }
}

/// Export of the Data page's filtered readings, streamed a store page at a time (never all in memory).
extension Dashboard {
    enum ExportFormat: String, Sendable {
        case jsonl, csv
    }

    static let csvColumns = [
        "time_received", "time_requested", "location_id", "robot_id", "part_id", "component_type", "component_name", "method_name", "tags",
        "data",
    ]

    func export(_ request: Request, format: ExportFormat) async -> Response {
        guard let session = await session(request) else { return Self.redirect("/signin") }
        let filter: DataFilter
        do {
            filter = try DataFilter(Form(request.uri.query))
        } catch {
            return Self.html(HTML.page(title: "Export", session: session, csrf: csrf(session), body: HTML.alert(Self.message(error))), status: .badRequest)
        }
        let store = self.store
        let org = session.organizationID
        var headers = Self.securityHeaders
        headers[.contentType] = format == .csv ? "text/csv; charset=utf-8" : "application/x-ndjson"
        headers[.contentDisposition] = "attachment; filename=\"readings.\(format.rawValue)\""
        let logger = self.logger
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                if format == .csv { try await writer.write(ByteBuffer(string: Self.csvColumns.joined(separator: ",") + "\r\n")) }
                do {
                    try await store.forEachReadingPage(organizationID: org, source: .standard, filter: filter.filter, sortByTimeDescending: false) {
                        page in
                        var text = ""
                        for document in page {
                            text += format == .csv ? Self.csvRow(document) : document.extendedJSON() + "\n"
                        }
                        try await writer.write(ByteBuffer(string: text))
                        return true
                    }
                } catch {
                    // The status has gone out; end the body early and say why in the log.
                    logger.warning("dashboard export stopped: \(error)")
                }
                try await writer.finish(nil)
            })
    }

    static func csvRow(_ d: BSONDocument) -> String {
        func time(_ key: String) -> String {
            guard case .datetime(let ms)? = d[key] else { return "" }
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            return formatter.string(from: Date(unixMilliseconds: ms))
        }
        func text(_ key: String) -> String { d[key]?.stringValue ?? "" }
        let tags: [String] = (d["tags"]?.arrayValue ?? []).compactMap(\.stringValue)
        let data: BSON = d["data"] ?? .null
        var fields: [String] = [time("time_received"), time("time_requested")]
        fields += ["location_id", "robot_id", "part_id", "component_type", "component_name", "method_name"].map(text)
        fields += [tags.joined(separator: ";"), data.extendedJSON()]
        return fields.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }.joined(separator: ",") + "\r\n"
    }
}

extension Dashboard.DataFilter {
    /// The filter's fields as form inputs, shared by the Data and Files pages.
    var inputs: String {
        [
            HTML.input("machine", label: "Machine", value: machine), HTML.input("location", label: "Location", value: location),
            HTML.input("part", label: "Part", value: part), HTML.input("component", label: "Component", value: component),
            HTML.input("method", label: "Method", value: method),
            HTML.input("from", label: "From (UTC)", value: from, placeholder: "2026-01-31T14:00"),
            HTML.input("to", label: "To (UTC)", value: to, placeholder: "2026-01-31T18:00"),
            HTML.input("tags", label: "Tags (any of, comma-separated)", value: tags),
        ].joined(separator: "\n")
    }
}
