import FerryAPI
import FerryBSON
import FerryClock
import FerryStore
import Foundation

/// Machines: every part that has uploaded readings or files, with its location and machine, its
/// last upload, how much it sent in the last 24 hours and in all, and the components and methods seen.
extension Dashboard {
    struct PartSummary {
        var part: String
        var location = ""
        var machine = ""
        var lastUpload: Int64 = .min
        var readings = 0
        var readingsToday = 0
        var files = 0
        var filesToday = 0
        /// "type name · method"
        var resources: Set<String> = []
        /// Readings and files per UTC day ("2026-01-31") over the last week.
        var readingsByDay: [String: Int] = [:]
        var filesByDay: [String: Int] = [:]
    }

    /// How many binary records the page counts at most (newest first); beyond, it says so.
    static let machinesBinaryScanLimit = 50_000

    func machinesPage(_ session: Session) async throws -> String {
        """
        <p>Every part that has uploaded to organisation \(HTML.esc(session.organizationID)). Counts of the last 24 hours
        are of uploads received since \(HTML.esc(HTML.time(clock.now().unixMilliseconds - 86_400_000))). The table refreshes every 10 s.</p>
        <div id="machines" data-refresh="/machines/fragment" data-every="10000" aria-live="polite">\(try await machinesTable(session))</div>
        """
    }

    func machinesTable(_ session: Session) async throws -> String {
        let org = session.organizationID
        let dayAgo = clock.now().unixMilliseconds - 86_400_000
        var parts: [String: PartSummary] = [:]
        // Readings: grouped by the query runner the gRPC API's TabularDataByMQL uses.
        let byResource: [BSONDocument] = [
            [
                "$group": [
                    "_id": [
                        "part": "$part_id", "location": "$location_id", "machine": "$robot_id", "type": "$component_type",
                        "name": "$component_name", "method": "$method_name",
                    ],
                    "n": ["$sum": 1], "last": ["$max": "$time_received"],
                ]
            ]
        ]
        for row in try await queries.mql(byResource, organizationID: org, source: .standard) {
            guard let id = row["_id"]?.documentValue else { continue }
            let part = id["part"]?.stringValue ?? ""
            var summary = parts[part] ?? PartSummary(part: part)
            summary.location = id["location"]?.stringValue ?? summary.location
            summary.machine = id["machine"]?.stringValue ?? summary.machine
            summary.readings += Int(row["n"]?.int64Value ?? 0)
            if case .datetime(let ms)? = row["last"] { summary.lastUpload = max(summary.lastUpload, ms) }
            summary.resources.insert(Self.resource(id["type"]?.stringValue, id["name"]?.stringValue, id["method"]?.stringValue))
            parts[part] = summary
        }
        let today: [BSONDocument] = [
            ["$match": ["time_received": ["$gte": .datetime(dayAgo)]]],
            ["$group": ["_id": "$part_id", "n": ["$sum": 1]]],
        ]
        for row in try await queries.mql(today, organizationID: org, source: .standard) {
            let part = row["_id"]?.stringValue ?? ""
            parts[part, default: PartSummary(part: part)].readingsToday = Int(row["n"]?.int64Value ?? 0)
        }
        let weekAgo = Self.startOfDay(clock.now().unixMilliseconds) - 6 * 86_400_000
        let byDay: [BSONDocument] = [
            ["$match": ["time_received": ["$gte": .datetime(weekAgo)]]],
            [
                "$group": [
                    "_id": ["part": "$part_id", "day": ["$dateToString": ["format": "%Y-%m-%d", "date": "$time_received"]]],
                    "n": ["$sum": 1],
                ]
            ],
        ]
        for row in try await queries.mql(byDay, organizationID: org, source: .standard) {
            guard let id = row["_id"]?.documentValue, let day = id["day"]?.stringValue else { continue }
            let part = id["part"]?.stringValue ?? ""
            parts[part, default: PartSummary(part: part)].readingsByDay[day] = Int(row["n"]?.int64Value ?? 0)
        }
        // Files: the binary pages BinaryDataByFilter reads, metadata only.
        var cursor: BinaryCursor?
        var scanned = 0
        var truncated = false
        repeat {
            let page = try await storeCall {
                try await store.binaryPage(organizationID: org, filter: .all, descending: true, after: cursor, limit: 1_000)
            }
            for record in page.records {
                let m = record.metadata
                var summary = parts[m.partID] ?? PartSummary(part: m.partID)
                if summary.location.isEmpty { summary.location = m.locationID }
                if summary.machine.isEmpty { summary.machine = m.robotID }
                summary.files += 1
                if m.timeReceived >= dayAgo { summary.filesToday += 1 }
                if m.timeReceived >= weekAgo { summary.filesByDay[Self.day(m.timeReceived), default: 0] += 1 }
                summary.lastUpload = max(summary.lastUpload, m.timeReceived)
                summary.resources.insert(Self.resource(m.componentType, m.componentName, m.methodName))
                parts[m.partID] = summary
            }
            scanned += page.records.count
            cursor = page.next
            if scanned >= Self.machinesBinaryScanLimit, cursor != nil {
                truncated = true
                break
            }
        } while cursor != nil
        if parts.isEmpty {
            return HTML.notice("Nothing has been uploaded to this organisation yet. Machines appear here after their first sync.")
        }
        let rows = parts.values.sorted { ($0.machine, $0.part) < ($1.machine, $1.part) }.map { p -> [String] in
            let link = "/data?" + HTML.query([("machine", p.machine), ("part", p.part)])
            return [
                "<a href=\"\(HTML.esc(link))\">\(HTML.esc(p.machine.isEmpty ? "(no machine id)" : p.machine))</a>",
                HTML.esc(p.location), HTML.esc(p.part),
                p.lastUpload == .min ? "" : HTML.esc(HTML.time(p.lastUpload)),
                "\(p.readingsToday)", "\(p.readings)", "\(p.filesToday)", "\(p.files)",
                "<ul>" + p.resources.sorted().map { "<li>\(HTML.esc($0))</li>" }.joined() + "</ul>",
                "<ul class=\"days\">" + Set(p.readingsByDay.keys).union(p.filesByDay.keys).sorted(by: >).map { day in
                    "<li>\(HTML.esc(day)): \(p.readingsByDay[day] ?? 0) / \(p.filesByDay[day] ?? 0)</li>"
                }.joined() + "</ul>",
            ]
        }
        return HTML.table(
            caption: "Parts that uploaded (\(parts.count))",
            headers: [
                "Machine", "Location", "Part", "Last upload", "Readings, 24 h", "Readings, all", "Files, 24 h", "Files, all",
                "Components and methods", "Per day, last 7 (readings / files)",
            ], rows: rows, id: "machines-table")
            + (truncated ? HTML.notice("File counts cover the newest \(Self.machinesBinaryScanLimit) files only.") : "")
    }

    static func startOfDay(_ ms: Int64) -> Int64 { ms - ((ms % 86_400_000) + 86_400_000) % 86_400_000 }

    /// The UTC day of a time, as `$dateToString` with `%Y-%m-%d` writes it.
    static func day(_ ms: Int64) -> String { String(HTML.time(ms).prefix(10)) }

    static func resource(_ type: String?, _ name: String?, _ method: String?) -> String {
        [type ?? "", name ?? ""].filter { !$0.isEmpty }.joined(separator: " ") + " · " + (method ?? "")
    }
}
