import FerryTestSupport
import Foundation
import Testing

/// The web dashboard in headless Chromium driven by Selenium, against the real `ferry serve
/// --ui-listen` (Tests/python/dashboard_browser_e2e.py). Screenshots of every page it visits are
/// kept in .build/test-artifacts/dashboard (the path is printed), for a person to look at.
@Suite(.ownThreads) struct DashboardBrowserTests {
    static let artefacts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/test-artifacts/dashboard")

    @Test func aBrowserSignsInFiltersPagesChartsQueriesWatchesRunsAndSignsOut() async throws {
        try? FileManager.default.removeItem(at: Self.artefacts)
        try FileManager.default.createDirectory(at: Self.artefacts, withIntermediateDirectories: true)
        let result = try await ViamSDKTests.runScript(
            "dashboard_browser_e2e.py", backend: .sqlite, environment: ["FERRY_TEST_ARTIFACTS": Self.artefacts.path])
        print("dashboard screenshots: \(Self.artefacts.path)")
        #expect(result.status == 0, "dashboard browser checks failed:\n\(result.output)")
        #expect(result.output.contains("all checks passed"))
        let screenshots = (try? FileManager.default.contentsOfDirectory(atPath: Self.artefacts.path)) ?? []
        for page in ["signin", "machines", "data-filtered", "data-paged", "chart", "gallery", "image", "query-error", "query-results", "query-chart", "pipeline-runs", "signed-out"] {
            #expect(screenshots.contains { $0.hasSuffix("-\(page).png") }, "a screenshot of \(page) in \(Self.artefacts.path)")
        }
    }

    /// `ferry serve` refuses dashboard options it cannot use before it starts, saying what it expects.
    @Test func serveRefusesBadDashboardOptions() throws {
        let data = try TemporaryDirectory("ferry-serve-ui-options")
        defer { data.remove() }
        for (arguments, message) in [
            (["--ui-listen", "nowhere"], "--ui-listen takes"), (["--ui-listen", "127.0.0.1:0", "--ui-session-hours", "0"], "--ui-session-hours takes"),
        ] {
            let result = try FerryProcess.run(["serve", "--data", data.path, "--listen", "127.0.0.1:0", "--metrics-listen", "off"] + arguments)
            #expect(result.status != 0 && result.stderr.contains(message), "\(arguments): \(result.status) \(result.stderr)")
        }
    }
}
