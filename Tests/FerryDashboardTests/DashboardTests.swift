import FerryBSON
import FerryClock
import FerryDashboard
import FerryLoader
import FerryMQL
import FerryMQLPlugins
import FerryPipelines
import FerryStore
import FerryTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import StoreTestSupport
import Testing

/// The dashboard's handlers through Hummingbird's test client, against a real SQLite store with
/// real keys: sign-in and sessions (on a manual clock), CSRF and role refusals, organisation
/// scoping, and the escaping of everything users put in their data.
@Suite struct DashboardTests {
    static let xss = "<script>alert(1)</script>"
    static let escapedXSS = "&lt;script&gt;alert(1)&lt;/script&gt;"

    /// A store with two organisations, an owner and a viewer key in the first, and the dashboard over it.
    struct Fixture {
        let test: TestStore
        let org: String
        let otherOrg: String
        let owner: (id: String, secret: String)
        let viewer: (id: String, secret: String)
        let clock: ManualClock
        let dashboard: Dashboard
        var store: any DataStore { test.store }

        static func make(_ backend: StoreBackend = .sqlite, lttb: Bool = false) async throws -> Fixture {
            let test = try await TestStore.make(backend)
            let store = test.store
            let org = try await store.createOrganization(name: "acme").id
            let otherOrg = try await store.createOrganization(name: "rival").id
            let owner = try await store.createAPIKey(organizationID: org, role: .owner)
            let viewer = try await store.createAPIKey(organizationID: org, role: .viewer)
            var operators = MQLOperatorRegistry()
            if lttb {
                let plugins = PluginRegistry()
                let errors = plugins.load(paths: [BuiltProducts.library("FerryMQLSensor")])
                #expect(errors.isEmpty, "the $lttb plugin loads: \(errors)")
                operators = try MQLOperatorRegistry(plugins: plugins)
            }
            let clock = ManualClock(now: Date())
            let dashboard = Dashboard(
                store: store, operators: operators, tokenSigningKey: try await store.tokenSigningKey(), clock: clock,
                sessionLifetime: .seconds(3600))
            return Fixture(
                test: test, org: org, otherOrg: otherOrg, owner: (owner.info.id, owner.secret), viewer: (viewer.info.id, viewer.secret),
                clock: clock, dashboard: dashboard)
        }

        func reading(
            org: String? = nil, part: String = "part-1", machine: String = "robot-1", location: String = "loc-1", component: String = "thermo",
            method: String = "Readings", at ms: Int64, tags: [String] = [], data: BSONDocument
        ) -> Reading {
            Reading(
                organizationID: org ?? self.org, locationID: location, robotID: machine, partID: part, componentType: "rdk:component:sensor",
                componentName: component, methodName: method, timeRequested: ms - 5, timeReceived: ms, tags: tags, data: data)
        }

        func run(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
            let app = Application(router: dashboard.router())
            try await app.test(.router, body)
        }
    }

    // MARK: Helpers: a browser's cookie jar and forms

    struct Browser {
        var cookies: [String: String] = [:]

        var cookieHeader: HTTPFields {
            var fields = HTTPFields()
            if !cookies.isEmpty { fields[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
            return fields
        }

        mutating func keep(_ response: TestResponse) {
            for value in response.headers[values: .setCookie] {
                let pair = value.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(pair[0])
                let cookieValue = pair.count > 1 ? String(pair[1]) : ""
                if value.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = cookieValue }
            }
        }

        mutating func get(_ client: any TestClientProtocol, _ uri: String) async throws -> TestResponse {
            let response = try await client.execute(uri: uri, method: .get, headers: cookieHeader)
            keep(response)
            return response
        }

        mutating func post(_ client: any TestClientProtocol, _ uri: String, _ fields: [(String, String)]) async throws -> TestResponse {
            var headers = cookieHeader
            headers[.contentType] = "application/x-www-form-urlencoded"
            let body = fields.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
            let response = try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body))
            keep(response)
            return response
        }

        static func encode(_ text: String) -> String {
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-._~")
            return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
        }

        /// Signs in through the form, as a browser does.
        mutating func signIn(_ client: any TestClientProtocol, _ key: (id: String, secret: String)) async throws -> TestResponse {
            let form = try await get(client, "/signin")
            return try await post(client, "/signin", [("csrf", Self.csrf(in: form)), ("key_id", key.id), ("key", key.secret)])
        }

        static func csrf(in response: TestResponse) -> String {
            let text = String(buffer: response.body)
            guard let range = text.range(of: "name=\"csrf\" value=\"") else { return "" }
            return String(text[range.upperBound...].prefix { $0 != "\"" })
        }
    }

    static func body(_ response: TestResponse) -> String { String(buffer: response.body) }

    // MARK: Sign-in and sessions

    /// On each backend: the pages read through the store's calls, whichever store it is.
    @Test(arguments: StoreBackend.all) func signInSetsAStrictHTTPOnlySecureCookieAndMachinesListThePartsThatUploaded(_ backend: StoreBackend) async throws {
        let f = try await Fixture.make(backend)
        defer { f.test.remove() }
        let now = f.clock.now().unixMilliseconds
        _ = try await f.store.insert(
            [
                f.reading(at: now - 1_000, data: ["readings": ["t": 20.5]]),
                f.reading(at: now - 2 * 86_400_000, data: ["readings": ["t": 19.0]]),
                f.reading(part: "part-2", machine: "robot-2", location: "loc-2", component: "arm", method: "JointPositions", at: now - 500, data: [:]),
            ], idempotencyKey: nil)
        try await f.run { client in
            var browser = Browser()
            let unsigned = try await browser.get(client, "/machines")
            #expect(unsigned.status == .seeOther && unsigned.headers[.location] == "/signin")
            let signIn = try await browser.signIn(client, f.owner)
            #expect(signIn.status == .seeOther && signIn.headers[.location] == "/machines")
            let cookie = signIn.headers[values: .setCookie].first { $0.hasPrefix("ferry_session=") } ?? ""
            for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Max-Age=3600", "Path=/"] {
                #expect(cookie.contains(attribute), "the session cookie has \(attribute): \(cookie)")
            }
            let machines = try await browser.get(client, "/machines")
            #expect(machines.status == .ok)
            let html = Self.body(machines)
            for expected in ["robot-1", "robot-2", "loc-1", "loc-2", "part-1", "part-2", "rdk:component:sensor thermo · Readings", "arm · JointPositions"] {
                #expect(html.contains(expected), "Machines shows \(expected)")
            }
            // part-1: one reading in the last 24 hours, two in all.
            #expect(html.contains("<td>part-1</td><td>") && html.contains("<td>1</td><td>2</td>"), "part-1's counts: \(html)")
            let today = String(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(now - 1_000) / 1000)).prefix(10))
            let twoDaysAgo = String(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(now - 2 * 86_400_000) / 1000)).prefix(10))
            #expect(html.contains("<li>\(today): 1 / 0</li>") && html.contains("<li>\(twoDaysAgo): 1 / 0</li>"), "readings per day: \(html)")
            let fragment = try await browser.get(client, "/machines/fragment")
            #expect(fragment.status == .ok && Self.body(fragment).contains("robot-2") && !Self.body(fragment).contains("<html"))
        }
    }

    @Test func aWrongKeyOrAMissingSignInTokenIsRefused() async throws {
        let f = try await Fixture.make()
        defer { f.test.remove() }
        try await f.run { client in
            var browser = Browser()
            let wrong = try await browser.signIn(client, (f.owner.id, "not-the-key"))
            #expect(wrong.status == .unauthorized && Self.body(wrong).contains("unknown API key id or wrong key"))
            #expect(browser.cookies["ferry_session"] == nil)
            // A form posted from elsewhere carries no token bound to this browser's sign-in cookie.
            var other = Browser()
            let forged = try await other.post(client, "/signin", [("csrf", "forged"), ("key_id", f.owner.id), ("key", f.owner.secret)])
            #expect(forged.status == .forbidden && other.cookies["ferry_session"] == nil)
        }
    }

    @Test func aSessionExpiresOnTheClockAndARevokedKeySignsOut() async throws {
        let f = try await Fixture.make()
        defer { f.test.remove() }
        try await f.run { client in
            var browser = Browser()
            _ = try await browser.signIn(client, f.owner)
            f.clock.advance(by: .seconds(3599))
            #expect(try await browser.get(client, "/machines").status == .ok, "still signed in a second before expiry")
            f.clock.advance(by: .seconds(2))
            let expired = try await browser.get(client, "/machines")
            #expect(expired.status == .seeOther && expired.headers[.location] == "/signin", "signed out after expiry")

            var viewer = Browser()
            _ = try await viewer.signIn(client, f.viewer)
            #expect(try await viewer.get(client, "/data").status == .ok)
            #expect(try await f.store.revokeAPIKey(organizationID: f.org, id: f.viewer.id))
            #expect(try await viewer.get(client, "/data").status == .seeOther, "a revoked key's session ends")
        }
    }

    @Test func signOutNeedsTheCSRFTokenAndEndsTheSession() async throws {
        let f = try await Fixture.make()
        defer { f.test.remove() }
        try await f.run { client in
            var browser = Browser()
            _ = try await browser.signIn(client, f.viewer)
            let page = try await browser.get(client, "/machines")
            let refused = try await browser.post(client, "/signout", [("csrf", "wrong")])
            #expect(refused.status == .forbidden && Self.body(refused).contains("CSRF"))
            #expect(try await browser.get(client, "/machines").status == .ok)
            let out = try await browser.post(client, "/signout", [("csrf", Browser.csrf(in: page))])
            #expect(out.status == .seeOther && browser.cookies["ferry_session"] == nil)
            #expect(try await browser.get(client, "/machines").status == .seeOther)
        }
    }

    // MARK: Roles and organisations

    @Test func aViewerSeesNoEditControlsAndTheServerRefusesItsChanges() async throws {
        let f = try await Fixture.make()
        defer { f.test.remove() }
        let manager = PipelineManager(store: f.store, operators: MQLOperatorRegistry())
        let pipeline = try await manager.create(
            organizationID: f.org, name: "hourly", schedule: "0 * * * *", stages: [["$match": [:]]], enableBackfill: false, source: .standard)
        try await f.run { client in
            var viewer = Browser()
            _ = try await viewer.signIn(client, f.viewer)
            let list = try await viewer.get(client, "/pipelines")
            #expect(list.status == .ok && Self.body(list).contains("hourly") && !Self.body(list).contains("create-pipeline"))
            let detail = try await viewer.get(client, "/pipelines/\(pipeline.id)")
            let html = Self.body(detail)
            #expect(detail.status == .ok && !html.contains("/delete") && !html.contains("/disable") && !html.contains("edit-pipeline"))
            let refused = try await viewer.post(client, "/pipelines/\(pipeline.id)/delete", [("csrf", Browser.csrf(in: detail))])
            #expect(refused.status == .forbidden)
            #expect(Self.body(refused).contains("has role viewer; deleting a data pipeline needs owner or above"))
            let create = try await viewer.post(
                client, "/pipelines", [("csrf", Browser.csrf(in: detail)), ("name", "x"), ("schedule", "0 * * * *"), ("mql", "[]")])
            #expect(create.status == .forbidden)
        }
        #expect(try await f.store.pipeline(id: pipeline.id) != nil, "the pipeline is still there")
        #expect(try await f.store.pipelines(organizationID: f.org).count == 1)
    }

    @Test func anOwnerCreatesDisablesEditsAndDeletesAPipelineWithTheCSRFTokenOnly() async throws {
        let f = try await Fixture.make()
        defer { f.test.remove() }
        try await f.run { client in
            var owner = Browser()
            _ = try await owner.signIn(client, f.owner)
            let list = try await owner.get(client, "/pipelines")
            let token = Browser.csrf(in: list)
            #expect(Self.body(list).contains("create-pipeline"))
            let mql = "[{\"$group\": {\"_id\": \"$component_name\", \"n\": {\"$sum\": 1}}}]"
            let noToken = try await owner.post(client, "/pipelines", [("name", "counts"), ("schedule", "0 * * * *"), ("mql", mql)])
            #expect(noToken.status == .forbidden)
            #expect(try await f.store.pipelines(organizationID: f.org).isEmpty, "nothing was created without the token")
            let badSchedule = try await owner.post(client, "/pipelines", [("csrf", token), ("name", "counts"), ("schedule", "0 * * *"), ("mql", mql)])
            #expect(badSchedule.status == .badRequest && Self.body(badSchedule).contains("5 fields"), Comment(rawValue: Self.body(badSchedule)))
            let created = try await owner.post(client, "/pipelines", [("csrf", token), ("name", "counts"), ("schedule", "0 * * * *"), ("mql", mql)])
            #expect(created.status == .seeOther)
            let id = try #require(try await f.store.pipelines(organizationID: f.org).first?.id)
            #expect(created.headers[.location] == "/pipelines/\(id)")
            #expect(try await owner.post(client, "/pipelines/\(id)/disable", [("csrf", token)]).status == .seeOther)
            #expect(try await f.store.pipeline(id: id)?.enabled == false)
            let edited = try await owner.post(
                client, "/pipelines/\(id)/edit", [("csrf", token), ("name", "renamed"), ("schedule", "*/5 * * * *"), ("mql", mql)])
            #expect(edited.status == .seeOther)
            let record = try await f.store.pipeline(id: id)
            #expect(record?.name == "renamed" && record?.schedule == "*/5 * * * *")
            let detail = try await owner.get(client, "/pipelines/\(id)")
            #expect(Self.body(detail).contains("id=\"enable\"") && Self.body(detail).contains("No runs yet"))
            #expect(try await owner.post(client, "/pipelines/\(id)/delete", [("csrf", token)]).headers[.location] == "/pipelines")
            #expect(try await f.store.pipeline(id: id) == nil)
        }
    }

    /// On each backend: the pages read through the store's calls, whichever store it is.
    @Test(arguments: StoreBackend.all) func anotherOrganisationsDataNeverAppears(_ backend: StoreBackend) async throws {
        let f = try await Fixture.make(backend)
        defer { f.test.remove() }
        let now = f.clock.now().unixMilliseconds
        _ = try await f.store.insert(
            [
                f.reading(at: now - 100, data: ["readings": ["t": 1]]),
                f.reading(org: f.otherOrg, part: "rival-part", machine: "rival-robot", location: "rival-loc", component: "rival-sensor", at: now - 50,
                          tags: ["rival-tag"], data: ["readings": ["t": 2]]),
            ], idempotencyKey: nil)
        let rivalPipeline = try await PipelineManager(store: f.store, operators: MQLOperatorRegistry()).create(
            organizationID: f.otherOrg, name: "rival-pipeline", schedule: "0 * * * *", stages: [["$match": [:]]], enableBackfill: false,
            source: .standard)
        try await f.run { client in
            var owner = Browser()
            _ = try await owner.signIn(client, f.owner)
            let everything = Browser.encode("[{\"$match\": {}}]")
            for uri in [
                "/machines", "/data", "/data?part=rival-part", "/data?tags=rival-tag", "/query?q=\(everything)",
                "/query?language=sql&q=\(Browser.encode("SELECT * FROM readings"))", "/pipelines", "/data/export.jsonl", "/data/export.csv",
            ] {
                let response = try await owner.get(client, uri)
                #expect(response.status == .ok, "\(uri)")
                // (The filters echo what was asked for; what the other organisation stored never shows.)
                for marker in ["rival-robot", "rival-loc", "rival-sensor", "rival-pipeline"] {
                    #expect(!Self.body(response).contains(marker), "\(uri) shows nothing of the other organisation (\(marker))")
                }
            }
            for uri in ["/data?part=rival-part", "/data?tags=rival-tag"] {
                #expect(Self.body(try await owner.get(client, uri)).contains("No readings match"), "\(uri) finds nothing")
            }
            #expect(Self.body(try await owner.get(client, "/data")).contains("robot-1"), "but the caller's own data shows")
            let foreign = try await owner.get(client, "/pipelines/\(rivalPipeline.id)")
            #expect(foreign.status == .notFound && !Self.body(foreign).contains("rival-pipeline"))
            let sink = try await owner.get(client, "/query?source=sink&pipeline=\(rivalPipeline.id)&q=\(everything)")
            #expect(!Self.body(sink).contains("rival-"))
            let delete = try await owner.post(client, "/pipelines/\(rivalPipeline.id)/delete", [("csrf", Browser.csrf(in: foreign))])
            #expect(delete.status == .notFound)
        }
        #expect(try await f.store.pipeline(id: rivalPipeline.id) != nil)
    }

    // MARK: Escaping

    @Test func everyUserSuppliedStringIsEscaped() async throws {
        let f = try await Fixture.make(lttb: true)
        defer { f.test.remove() }
        let now = f.clock.now().unixMilliseconds
        let x = Self.xss
        _ = try await f.store.insert(
            (0..<5).map { i in
                f.reading(
                    part: x, machine: x, location: x, component: x, method: x, at: now - Int64(i) * 1000, tags: [x],
                    data: ["readings": ["value": .double(Double(i))], "note": .string(x), x: .string(x)])
            }, idempotencyKey: nil)
        _ = try await PipelineManager(store: f.store, operators: MQLOperatorRegistry()).create(
            organizationID: f.org, name: x, schedule: "0 * * * *", stages: [["$match": ["component_name": .string(x)]]], enableBackfill: false,
            source: .standard)
        try await f.run { client in
            var owner = Browser()
            _ = try await owner.signIn(client, f.owner)
            let pipelineID = try #require(try await f.store.pipelines(organizationID: f.org).first?.id)
            let filter = HTMLQuery.encode([("machine", x), ("component", x), ("tags", x), ("chart", "readings.value")])
            for uri in [
                "/machines", "/data", "/data?\(filter)", "/query?q=\(Browser.encode("[{\"$match\": {}}]"))",
                "/query?q=\(Browser.encode(x))", "/query?language=sql&q=\(Browser.encode("SELECT '\(x)' AS \"\(x)\""))",
                "/pipelines", "/pipelines/\(pipelineID)", "/data?from=\(Browser.encode(x))", "/data?chart=\(Browser.encode(x))",
            ] {
                let response = try await owner.get(client, uri)
                let html = Self.body(response)
                #expect(!html.contains(x), "\(uri) never writes the payload unescaped")
                #expect(html.contains(Self.escapedXSS), "\(uri) shows it escaped")
            }
            let chart = Self.body(try await owner.get(client, "/data?\(filter)"))
            #expect(chart.contains("<polyline") && chart.contains("data-series=\"\(Self.escapedXSS)\""), "the chart draws the escaped component")
        }
    }

    // MARK: Data, charts, queries

    /// On each backend: the pages read through the store's calls, whichever store it is.
    @Test(arguments: StoreBackend.all) func dataFiltersAndPagesNewestFirst(_ backend: StoreBackend) async throws {
        let f = try await Fixture.make(backend)
        defer { f.test.remove() }
        let now = f.clock.now().unixMilliseconds
        var readings = (0..<23).map { i in
            f.reading(at: now - Int64(i) * 60_000, tags: i % 2 == 0 ? ["even"] : [], data: ["readings": ["i": .int32(Int32(i))]])
        }
        readings.append(f.reading(component: "other", at: now, data: ["readings": ["i": -1]]))
        _ = try await f.store.insert(readings, idempotencyKey: nil)
        try await f.run { client in
            var owner = Browser()
            _ = try await owner.signIn(client, f.owner)
            var uri = "/data?component=thermo&limit=10"
            var seen: [String] = []
            for _ in 0..<5 {
                let html = Self.body(try await owner.get(client, uri))
                seen += Self.values(html)
                guard let next = Self.link("next-page", in: html) else { break }
                uri = next
            }
            #expect(seen == (0..<23).map { "{\"readings\":{\"i\":\($0)}}" }, "three pages, newest first, each reading once: \(seen)")
            let tagged = Self.values(Self.body(try await owner.get(client, "/data?component=thermo&tags=even&limit=5")))
            #expect(tagged == [0, 2, 4, 6, 8].map { "{\"readings\":{\"i\":\($0)}}" })
            let from = HTMLQuery.time(now - 2 * 60_000)
            let recent = Self.values(Self.body(try await owner.get(client, "/data?component=thermo&from=\(Browser.encode(from))")))
            #expect(recent.count == 3, "from bounds the time received: \(recent)")
            let first = Self.body(try await owner.get(client, "/data?component=thermo&limit=10"))
            #expect(first.contains("data-refresh=\"/data/fragment?component=thermo&amp;limit=10\""), "the first page refreshes itself")
            #expect(!Self.body(try await owner.get(client, uri)).contains("data-refresh=\"/data/fragment"), "later pages stay put")
            _ = try await f.store.insert([f.reading(at: now + 1, data: ["readings": ["i": 99]])], idempotencyKey: nil)
            let fragment = Self.body(try await owner.get(client, "/data/fragment?component=thermo&limit=10"))
            #expect(!fragment.contains("<html") && Self.values(fragment).first == "{\"readings\":{\"i\":99}}", "the fragment shows the new reading")
            let bad = try await owner.get(client, "/data?from=yesterday")
            #expect(bad.status == .badRequest && Self.body(bad).contains("is not a time"))
            let csv = Self.body(try await owner.get(client, "/data/export.csv?component=other"))
            #expect(csv.hasPrefix("time_received,") && csv.components(separatedBy: "\r\n").filter { !$0.isEmpty }.count == 2, Comment(rawValue: csv))
        }
    }

    @Test func aChartIsDownsampledOnTheServer() async throws {
        let f = try await Fixture.make()
        defer { f.test.remove() }
        let now = f.clock.now().unixMilliseconds
        var readings: [Reading] = []
        for component in ["north", "south"] {
            readings += (0..<1_000).map { i in
                f.reading(component: component, at: now - Int64(i) * 1000, data: ["readings": ["temperature": .double(sin(Double(i) / 50))]])
            }
        }
        _ = try await f.store.insert(readings, idempotencyKey: nil)
        try await f.run { client in
            var owner = Browser()
            _ = try await owner.signIn(client, f.owner)
            let html = Self.body(try await owner.get(client, "/data?chart=readings.temperature&points=50"))
            let lines = html.components(separatedBy: "<polyline").dropFirst()
            #expect(lines.count == 2, "one line per component")
            for line in lines {
                let points = line.components(separatedBy: "points=\"")[1].prefix { $0 != "\"" }.split(separator: " ")
                #expect(points.count == 50, "downsampled to 50 points, not 1000")
            }
            #expect(html.contains("north: 50 points") && html.contains("south: 50 points"))
            let missing = Self.body(try await owner.get(client, "/data?chart=readings.nothing"))
            #expect(missing.contains("Nothing to chart"))
        }
    }

    /// On each backend: the pages read through the store's calls, whichever store it is.
    @Test(arguments: StoreBackend.all) func theQueryConsoleShowsResultsAndTheAPIsErrors(_ backend: StoreBackend) async throws {
        let f = try await Fixture.make(backend)
        defer { f.test.remove() }
        let now = f.clock.now().unixMilliseconds
        _ = try await f.store.insert(
            [f.reading(at: now, data: ["readings": ["t": 21.5]]), f.reading(component: "b", at: now - 1, data: ["readings": ["t": 3]])],
            idempotencyKey: nil)
        try await f.run { client in
            var viewer = Browser()
            _ = try await viewer.signIn(client, f.viewer)
            let mql = "[{\"$group\": {\"_id\": \"$component_name\", \"n\": {\"$sum\": 1}}}, {\"$sort\": {\"_id\": 1}}]"
            let results = Self.body(try await viewer.get(client, "/query?q=\(Browser.encode(mql))"))
            #expect(results.contains("id=\"results-table\"") && results.contains("<td>b</td><td><code>1</code></td>"), Comment(rawValue: results))
            let bad = try await viewer.get(client, "/query?q=\(Browser.encode("[{\"$match\": {}}, {\"$bogus\": 1}]"))")
            let badHTML = Self.body(bad)
            #expect(badHTML.contains("role=\"alert\"") && badHTML.contains("invalid MQL pipeline") && badHTML.contains("$bogus"), Comment(rawValue: badHTML))
            let sql = Self.body(try await viewer.get(client, "/query?language=sql&q=\(Browser.encode("SELECT count(*) AS n FROM readings"))"))
            #expect(sql.contains("<th scope=\"col\">n</th>") && sql.contains("<code>2</code>"), Comment(rawValue: sql))
            let series = "[{\"$project\": {\"_id\": 0, \"t\": \"$time_received\", \"v\": \"$data.readings.t\", \"c\": \"$component_name\"}}]"
            let chart = Self.body(try await viewer.get(client, "/query?q=\(Browser.encode(series))&x=t&y=v&by=c"))
            #expect(chart.contains("id=\"chart-form\"") && chart.components(separatedBy: "<polyline").count == 3, "a line per component")
            #expect(chart.contains("data-series=\"thermo\"") && chart.contains("data-series=\"b\""))
            let refused = Self.body(try await viewer.get(client, "/query?language=sql&q=\(Browser.encode("DELETE FROM readings"))"))
            #expect(refused.contains("role=\"alert\""))
            #expect(try await f.store.readings(organizationID: f.org, source: .standard, filter: .all, sortByTimeDescending: false, limit: nil).count == 2)
        }
    }

    // MARK: Files

    /// A 1×1 PNG.
    static let png: [UInt8] = Array(
        Data(base64Encoded: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")!)

    /// On each backend: the pages read through the store's calls, whichever store it is.
    @Test(arguments: StoreBackend.all) func theGalleryDrawsBoxesEscapesLabelsAndNeverServesAnUploadAsAPage(_ backend: StoreBackend) async throws {
        let f = try await Fixture.make(backend)
        defer { f.test.remove() }
        let now = f.clock.now().unixMilliseconds
        let x = Self.xss
        let box: BSONDocument = [
            "id": "b1", "label": .string(x), "x_min_normalized": 0.1, "y_min_normalized": 0.2, "x_max_normalized": 0.5, "y_max_normalized": 0.6,
            "confidence": 0.9,
        ]
        let image = try await f.store.storeBinary(
            BinaryMetadata(
                organizationID: f.org, robotID: "robot-1", partID: "part-1", componentType: "rdk:component:camera", componentName: x,
                methodName: "ReadImage", fileName: "frame", fileExtension: ".png", mimeType: "image/png", timeRequested: now - 10,
                timeReceived: now, tags: [x], annotations: ["bboxes": [.document(box)]]),
            bytes: Self.png)
        let page = try await f.store.storeBinary(
            BinaryMetadata(organizationID: f.org, componentName: "uploader", fileName: "evil.html", mimeType: "text/html", timeRequested: now - 20, timeReceived: now),
            bytes: Array("<html><script>alert(1)</script></html>".utf8))
        let rival = try await f.store.storeBinary(
            BinaryMetadata(organizationID: f.otherOrg, componentName: "rival-camera", mimeType: "image/png", timeRequested: now, timeReceived: now),
            bytes: Self.png)
        try await f.run { client in
            var viewer = Browser()
            _ = try await viewer.signIn(client, f.viewer)
            let gallery = try await viewer.get(client, "/files")
            let html = Self.body(gallery)
            #expect(gallery.status == .ok && !html.contains(x) && html.contains(Self.escapedXSS))
            #expect(html.contains("<rect class=\"bbox\" x=\"10.00\" y=\"20.00\" width=\"40.00\" height=\"40.00\""), Comment(rawValue: html))
            #expect(html.contains("/files/\(image.id)/thumb") && !html.contains("/files/\(page.id)/raw"), "only images are shown inline, as thumbnails")
            #expect(!html.contains("rival-camera") && !html.contains(rival.id))
            let labelled = Self.body(try await viewer.get(client, "/files?label=\(Browser.encode(x))"))
            #expect(labelled.contains(image.id) && !labelled.contains(page.id), "the label filter")
            let tagged = Self.body(try await viewer.get(client, "/files?tags=nothing"))
            #expect(tagged.contains("No files match"))
            let full = try await viewer.get(client, "/files/\(image.id)")
            #expect(full.status == .ok && !Self.body(full).contains(x) && Self.body(full).contains("(0.90)") && Self.body(full).contains("/download"))
            let raw = try await viewer.get(client, "/files/\(image.id)/raw")
            #expect(raw.status == .ok && raw.headers[.contentType] == "image/png" && Array(buffer: raw.body) == Self.png)
            let download = try await viewer.get(client, "/files/\(image.id)/download")
            #expect(download.headers[.contentDisposition] == "attachment; filename=\"frame.png\"" && Array(buffer: download.body) == Self.png)
            let upload = try await viewer.get(client, "/files/\(page.id)/raw")
            #expect(upload.headers[.contentType] == "application/octet-stream" && upload.headers[.contentDisposition]?.hasPrefix("attachment") == true)
            #expect(upload.headers[.contentSecurityPolicy]?.contains("sandbox") == true)
            let zip = try await viewer.get(client, "/export/files.zip")
            #expect(zip.status == .ok && zip.headers[.contentType] == "application/zip")
            let listing = try Self.checkZIP(Array(buffer: zip.body))
            #expect(listing == ["\(page.id)-evil.html 38", "\(image.id)-frame.png \(Self.png.count)"], "oldest first; Python's zipfile reads it back, CRCs checked")
            let narrowed = try Self.checkZIP(Array(buffer: try await viewer.get(client, "/export/files.zip?mime=image%2Fpng").body))
            #expect(narrowed == ["\(image.id)-frame.png \(Self.png.count)"], "the export follows the filter")
            #expect(try await viewer.get(client, "/files/\(rival.id)").status == .notFound)
            #expect(try await viewer.get(client, "/files/\(rival.id)/raw").status == .notFound)
        }
    }

    /// Reads a ZIP back with Python's zipfile (an independent reader), testing every entry's CRC:
    /// "name size" per entry.
    static func checkZIP(_ bytes: [UInt8]) throws -> [String] {
        let directory = try TemporaryDirectory("ferry-dashboard-zip")
        defer { directory.remove() }
        try Data(bytes).write(to: URL(fileURLWithPath: directory.file("files.zip")))
        _ = FileManager.default.createFile(atPath: directory.file("out"), contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: directory.file("out")))
        let script = "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print('\\n'.join(f'{i.filename} {i.file_size}' for i in z.infolist()))"
        let python = try ChildProcess(
            executable: "/usr/bin/env", arguments: ["python3", "-c", script, directory.file("files.zip")], environment: ProcessInfo.processInfo.environment,
            standardInput: FileHandle.nullDevice.fileDescriptor, standardOutput: out.fileDescriptor, standardError: out.fileDescriptor)
        try out.close()
        let status = python.wait(timeout: .seconds(60))
        let text = try String(contentsOfFile: directory.file("out"), encoding: .utf8)
        #expect(status == 0, "zipfile reads the archive: \(text)")
        return text.split(separator: "\n").map(String.init)
    }

    /// The readings' `data` cells of a Data page, in order.
    static func values(_ html: String) -> [String] {
        html.components(separatedBy: "<td><code>").dropFirst().map { cell in
            String(cell.prefix { $0 != "<" }).replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: " ", with: "")
        }
    }

    static func link(_ id: String, in html: String) -> String? {
        let anchor = html.components(separatedBy: "<a href=\"").dropFirst().first { $0.contains("id=\"\(id)\"") }
        return anchor.map { String($0.prefix { $0 != "\"" }).replacingOccurrences(of: "&amp;", with: "&") }
    }
}

/// Query strings and times as the browser would send them.
enum HTMLQuery {
    static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { "\($0.0)=\(DashboardTests.Browser.encode($0.1))" }.joined(separator: "&")
    }

    static func time(_ ms: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }
}
