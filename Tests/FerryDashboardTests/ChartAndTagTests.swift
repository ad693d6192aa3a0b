import FerryBSON
import FerryDashboard
import FerryStore
import Foundation
import HummingbirdTesting
import StoreTestSupport
import Testing

/// The Data page's chart (the store's min/max reduction, drawn as SVG) and its tags filter (in the
/// store's query, no scan cap), on each backend.
@Suite struct ChartAndTagTests {
    typealias Browser = DashboardTests.Browser

    /// The `x,y` pairs of each polyline, by its series name.
    static func polylines(_ html: String) -> [String: [(x: Double, y: Double)]] {
        var lines: [String: [(x: Double, y: Double)]] = [:]
        for line in html.components(separatedBy: "<polyline").dropFirst() {
            let name = line.components(separatedBy: "data-series=\"")[1].prefix { $0 != "\"" }
            let points = line.components(separatedBy: "points=\"")[1].prefix { $0 != "\"" }.split(separator: " ").map { pair in
                let xy = pair.split(separator: ",").compactMap { Double($0) }
                return (x: xy[0], y: xy[1])
            }
            lines[String(name)] = points
        }
        return lines
    }

    @Test(arguments: StoreBackend.all) func theChartKeepsEverySpikeAndAtMostTheAskedPoints(_ backend: StoreBackend) async throws {
        let f = try await DashboardTests.Fixture.make(backend)
        defer { f.test.remove() }
        let now = f.clock.now().unixMilliseconds
        var readings: [Reading] = []
        for (component, base) in [("north", 10.0), ("south", 12.0)] {
            readings += (0..<3_000).map { i in
                // One reading of 3,000 is a spike; LTTB over every reading could pass it by, the envelope cannot.
                let value = component == "north" && i == 1_234 ? 40.0 : base + sin(Double(i) / 100)
                return f.reading(component: component, at: now - Int64(i) * 1000, data: ["readings": ["temperature": .double(value)]])
            }
        }
        readings.append(f.reading(org: f.otherOrg, component: "north", at: now, data: ["readings": ["temperature": 1_000.0]]))
        _ = try await f.store.insert(readings, idempotencyKey: nil)
        try await f.run { client in
            var viewer = Browser()
            _ = try await viewer.signIn(client, f.viewer)
            let html = DashboardTests.body(try await viewer.get(client, "/data?chart=readings.temperature&points=100"))
            let lines = Self.polylines(html)
            #expect(lines.keys.sorted() == ["north", "south"], "one line per component")
            for (name, points) in lines {
                #expect(points.count <= 100 && points.count >= 90, "\(name): about 100 points, not 3,000 (\(points.count))")
                #expect(zip(points, points.dropFirst()).allSatisfy { $0.x <= $1.x }, "\(name): in time order")
            }
            // The plot's top edge is y = 16: the spike reaches it; south never does, and the other
            // organisation's 1,000 (which would flatten both lines to the bottom) is not there.
            #expect(lines["north"]?.contains { $0.y == 16 } == true, "the spike is drawn")
            #expect(lines["south"]?.allSatisfy { $0.y > 16 } == true)
            #expect(html.contains(">40.00</text>"), "the axis tops out at the spike, not at another organisation's value")
            #expect(html.contains("each of 50 time buckets"))

            // Filters apply to the chart as to the table: one component, a time range.
            let from = HTMLQuery.time(now - 999 * 1000)
            let south = DashboardTests.body(
                try await viewer.get(client, "/data?chart=readings.temperature&component=south&from=\(Browser.encode(from))&points=10"))
            let southLines = Self.polylines(south)
            #expect(southLines.keys.sorted() == ["south"] && (southLines["south"]?.count ?? 0) <= 10)
            #expect(DashboardTests.body(try await viewer.get(client, "/data?chart=readings.label")).contains("Nothing to chart"))
            let bad = try await viewer.get(client, "/data?chart=readings..x")
            #expect(bad.status == .badRequest && DashboardTests.body(bad).contains("is not a field path"))
        }
    }

    /// Rare tags far down the table: every tagged reading is found through the store's query (the
    /// old in-memory match stopped after 100,000 scanned), and the chart charts only tagged ones.
    @Test(arguments: StoreBackend.all) func tagsFilterInTheStoreAndPageWithoutACap(_ backend: StoreBackend) async throws {
        let f = try await DashboardTests.Fixture.make(backend)
        defer { f.test.remove() }
        let now = f.clock.now().unixMilliseconds
        let rare: Set<Int> = [5, 1_100, 2_999]
        let readings = (0..<3_000).map { i in
            f.reading(
                at: now - Int64(i) * 1000, tags: rare.contains(i) ? ["rare", "x"] : i % 7 == 0 ? ["weekly"] : [],
                data: ["readings": ["i": .int32(Int32(i)), "temperature": .double(rare.contains(i) ? Double(i) : -1)]])
        }
        _ = try await f.store.insert(readings, idempotencyKey: nil)
        try await f.run { client in
            var owner = Browser()
            _ = try await owner.signIn(client, f.owner)
            var uri = "/data?tags=rare&limit=2"
            var seen: [String] = []
            for _ in 0..<3 {
                let html = DashboardTests.body(try await owner.get(client, uri))
                #expect(!html.contains("Stopped after scanning"))
                seen += DashboardTests.values(html)
                guard let next = DashboardTests.link("next-page", in: html) else { break }
                uri = next
            }
            #expect(seen == [5, 1_100, 2_999].map { "{\"readings\":{\"i\":\($0),\"temperature\":\(Double($0))}}" }, "\(seen)")
            let either = DashboardTests.values(DashboardTests.body(try await owner.get(client, "/data?tags=rare,%20weekly&limit=500")))
            #expect(either.count == 3 + 429, "the rare ones or the 429 multiples of 7: \(either.count)")
            let csv = DashboardTests.body(try await owner.get(client, "/data/export.csv?tags=rare"))
            #expect(csv.components(separatedBy: "\r\n").filter { !$0.isEmpty }.count == 4, "header and the three tagged readings")
            let chart = Self.polylines(DashboardTests.body(try await owner.get(client, "/data?tags=rare&chart=readings.temperature")))
            #expect(chart["thermo"]?.count == 3, "only the tagged readings are charted")
        }
    }
}
