import FerryAPI
import FerryBSON
import FerryPipelines
import FerryStore
import Foundation
import Hummingbird

/// Pipelines: the organisation's pipelines; each one's runs as a timeline coloured by status with
/// their errors, backfill progress and its sink as a table. Owners create, edit, enable, disable and
/// delete (the `PipelineManager` calls of the gRPC API and `ferry pipelines`); each change wakes the
/// scheduler at once (`pipelineChanged`), as the gRPC API's calls do, instead of waiting for its poll.
extension Dashboard {
    func registerPipelineRoutes(_ router: Router<DashboardContext>) {
        router.get("/pipelines") { request, _ in
            await page(request, title: "Pipelines", active: "/pipelines") { session in try await pipelinesPage(session) }
        }
        router.get("/pipelines/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await page(request, title: "Pipeline", active: "/pipelines") { session in try await pipelinePage(session, id: id) }
        }
        router.get("/pipelines/:id/runs") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await fragment(request) { session in try await runsSection(session, id: id) }
        }
        router.post("/pipelines") { request, context in
            try await changing(request, context, needs: .owner, to: "creating a data pipeline") { session, form in
                let stages = try Self.stages(form.raw("mql") ?? "")
                let source: PipelineSource = form["source"] == "hot" ? .hotStorage : .standard
                let record = try await pipelines.create(
                    organizationID: session.organizationID, name: form["name"], schedule: form["schedule"], stages: stages,
                    enableBackfill: form["backfill"] == "on", source: source)
                await pipelineChanged()
                return Self.redirect("/pipelines/\(record.id)")
            }
        }
        for (action, verb) in [("enable", "enabling"), ("disable", "disabling"), ("delete", "deleting"), ("edit", "changing")] {
            router.post("/pipelines/:id/\(action)") { request, context in
                let id = context.parameters.get("id") ?? ""
                return try await changing(request, context, needs: .owner, to: "\(verb) a data pipeline") { session, form in
                    let org = session.organizationID
                    switch action {
                    case "enable": _ = try await pipelines.setEnabled(organizationID: org, id: id, enabled: true)
                    case "disable": _ = try await pipelines.setEnabled(organizationID: org, id: id, enabled: false)
                    case "delete":
                        try await pipelines.delete(organizationID: org, id: id)
                        await pipelineChanged()
                        return Self.redirect("/pipelines")
                    default:
                        let current = try await pipelines.get(organizationID: org, id: id)
                        if !form["name"].isEmpty, form["name"] != current.name {
                            _ = try await pipelines.rename(organizationID: org, id: id, name: form["name"])
                        }
                        let stages = try Self.stages(form.raw("mql") ?? "")
                        let schedule = form["schedule"]
                        _ = try await pipelines.update(
                            organizationID: org, id: id, schedule: schedule == current.schedule ? nil : schedule,
                            stages: stages == current.stages ? nil : stages, recompute: form["recompute"] == "on")
                    }
                    await pipelineChanged()
                    return Self.redirect("/pipelines/\(id)")
                }
            }
        }
    }

    static func stages(_ text: String) throws -> [BSONDocument] {
        do {
            return try BSONDocument.parseExtendedJSONDocuments(text)
        } catch {
            throw PageError("the MQL pipeline is not JSON: \(error); write an array of stages such as [{\"$match\": {}}]")
        }
    }

    static func sourceName(_ source: PipelineSource) -> String {
        switch source {
        case .standard: "readings"
        case .hotStorage: "hot storage"
        case .pipelineSink(let id): "sink of \(id)"
        }
    }

    func pipelinesPage(_ session: Session) async throws -> String {
        let list = try await pipelines.list(organizationID: session.organizationID)
        var rows: [[String]] = []
        for p in list {
            let counts = try await pipelines.runCounts(id: p.id)
            rows.append([
                "<a href=\"/pipelines/\(HTML.esc(p.id))\">\(HTML.esc(p.name))</a>", "<code>\(HTML.esc(p.schedule))</code>",
                HTML.esc(Self.sourceName(p.source)), p.enabled ? "enabled" : "disabled",
                PipelineRunStatus.allCases.map { "\($0.rawValue.lowercased()) \(counts[$0] ?? 0)" }.joined(separator: ", "),
            ])
        }
        var out = list.isEmpty
            ? HTML.notice("No pipelines in this organisation yet.")
            : HTML.table(caption: "Pipelines (\(list.count))", headers: ["Name", "Schedule", "Source", "State", "Runs"], rows: rows, id: "pipelines")
        if session.canEdit {
            out += """
                <section aria-labelledby="create-heading"><h2 id="create-heading">Create a pipeline</h2>
                <form method="post" action="/pipelines" id="create-pipeline">
                \(HTML.csrfField(csrf(session)))
                <p class="filters">
                \(HTML.input("name", label: "Name", value: ""))
                \(HTML.input("schedule", label: "Schedule (cron, UTC)", value: "", placeholder: "0 * * * *"))
                <label>Source <select name="source"><option value="standard">Readings</option><option value="hot">Hot storage</option></select></label>
                <label><span>Backfill from the earliest data</span><input type="checkbox" name="backfill"></label>
                </p>
                <label for="create-mql">MQL stages</label>
                <textarea name="mql" id="create-mql" spellcheck="false" placeholder="[{&quot;$group&quot;: {&quot;_id&quot;: &quot;$component_name&quot;, &quot;n&quot;: {&quot;$sum&quot;: 1}}}]"></textarea>
                <p><button type="submit">Create</button></p>
                </form></section>
                """
        }
        return out
    }

    func pipelinePage(_ session: Session, id: String) async throws -> String {
        let p = try await pipelines.get(organizationID: session.organizationID, id: id)
        let stagesText = "[" + p.stages.map { $0.extendedJSON() }.joined(separator: ", ") + "]"
        var out = """
            <h2>\(HTML.esc(p.name))</h2>
            <dl>
            <dt>Id</dt><dd><code>\(HTML.esc(p.id))</code></dd>
            <dt>Schedule</dt><dd><code>\(HTML.esc(p.schedule))</code> (UTC)</dd>
            <dt>Source</dt><dd>\(HTML.esc(Self.sourceName(p.source)))</dd>
            <dt>State</dt><dd id="pipeline-state">\(p.enabled ? "enabled" : "disabled")</dd>
            <dt>MQL</dt><dd><code>\(HTML.esc(stagesText))</code></dd>
            </dl>
            """
        if session.canEdit {
            let token = HTML.csrfField(csrf(session))
            let path = "/pipelines/\(HTML.esc(p.id))"
            out += "<p class=\"filters\">"
            out += p.enabled
                ? "<form method=\"post\" action=\"\(path)/disable\" class=\"inline\">\(token)<button type=\"submit\" id=\"disable\">Disable</button></form>"
                : "<form method=\"post\" action=\"\(path)/enable\" class=\"inline\">\(token)<button type=\"submit\" id=\"enable\">Enable</button></form>"
            out += "<form method=\"post\" action=\"\(path)/delete\" class=\"inline\">\(token)<button type=\"submit\" class=\"danger\" id=\"delete\">Delete (with its runs and sink)</button></form></p>"
            out += """
                <details><summary>Edit</summary>
                <form method="post" action="\(path)/edit" id="edit-pipeline">\(token)
                <p class="filters">\(HTML.input("name", label: "Name", value: p.name))\(HTML.input("schedule", label: "Schedule", value: p.schedule))
                <label><span>Recompute every window</span><input type="checkbox" name="recompute"></label></p>
                <label for="edit-mql">MQL stages</label><textarea name="mql" id="edit-mql" spellcheck="false">\(HTML.esc(stagesText))</textarea>
                <p><button type="submit">Save</button></p></form></details>
                """
        }
        out += "<div id=\"runs\" data-refresh=\"/pipelines/\(HTML.esc(p.id))/runs\" data-every=\"5000\" aria-live=\"polite\">"
            + (try await runsSection(session, id: p.id)) + "</div>"
        return out
    }

    /// Most sink documents the page shows (the Query page reads all of them).
    static let sinkRowLimit = 100

    static let statusColours: [PipelineRunStatus: String] = [
        .scheduled: "#767676", .started: "#0b5cad", .completed: "#1b6e20", .failed: "#a40000",
    ]

    /// What changes while a pipeline runs, refreshed in place: backfill progress, the newest runs as a
    /// timeline (one bar per window, coloured by status) and a table with their errors, and the sink.
    func runsSection(_ session: Session, id: String) async throws -> String {
        let p = try await pipelines.get(organizationID: session.organizationID, id: id)
        let backfill =
            if let cursor = p.backfillCursor {
                "in progress: windows ending at or before \(HTML.esc(HTML.time(cursor))) still to run"
            } else {
                p.enableBackfill ? "done" : "off"
            }
        let sink = try await storeCall {
            try await store.sinkDocuments(organizationID: session.organizationID, pipelineID: id, window: nil, limit: Self.sinkRowLimit)
        }
        let query = "/query?" + HTML.query([("source", "sink"), ("pipeline", id), ("q", "[{\"$match\": {}}]")])
        let sinkSection = "<h2>Sink (newest \(Self.sinkRowLimit) documents at most)</h2>"
            + "<p><a href=\"\(HTML.esc(query))\" id=\"sink-query\">Query and chart the sink</a></p>" + resultsTable(sink)
        return "<p id=\"backfill\">Backfill: \(backfill)</p>" + (try await runsTimeline(session, id: id)) + sinkSection
    }

    func runsTimeline(_ session: Session, id: String) async throws -> String {
        let page = try await pipelines.runs(organizationID: session.organizationID, id: id, pageSize: 100, pageToken: nil)
        let counts = try await pipelines.runCounts(id: id)
        let summary = PipelineRunStatus.allCases.map { "\($0.rawValue.lowercased()): \(counts[$0] ?? 0)" }.joined(separator: ", ")
        guard !page.runs.isEmpty else { return HTML.notice("No runs yet (\(summary)).") }
        let runs = page.runs.sorted { $0.window.start < $1.window.start }
        let start = runs.map(\.window.start).min()!, end = runs.map(\.window.end).max()!
        let width = 800.0, height = 60.0, span = Double(max(end - start, 1))
        var svg = "<svg id=\"timeline\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" aria-labelledby=\"timeline-title\"><title id=\"timeline-title\">Runs by window, coloured by status</title>"
        for run in runs {
            let x = Double(run.window.start - start) / span * width
            let w = max(Double(run.window.end - run.window.start) / span * width - 1, 2)
            svg += "<rect class=\"run run-\(run.status.rawValue.lowercased())\" x=\"\(String(format: "%.1f", x))\" y=\"10\" width=\"\(String(format: "%.1f", w))\" height=\"30\" fill=\"\(Self.statusColours[run.status] ?? "#767676")\">"
                + "<title>\(HTML.esc(HTML.time(run.window.start))): \(HTML.esc(run.status.rawValue))\(run.errorMessage.map { " — " + HTML.esc($0) } ?? "")</title></rect>"
        }
        svg += "<text x=\"0\" y=\"56\" font-size=\"11\" fill=\"#1a1a1a\">\(HTML.esc(HTML.time(start)))</text><text x=\"\(Int(width))\" y=\"56\" font-size=\"11\" text-anchor=\"end\" fill=\"#1a1a1a\">\(HTML.esc(HTML.time(end)))</text></svg>"
        let legend = "<p class=\"muted\">" + PipelineRunStatus.allCases.map {
            "<svg width=\"12\" height=\"12\" aria-hidden=\"true\"><rect width=\"12\" height=\"12\" fill=\"\(Self.statusColours[$0] ?? "#767676")\"/></svg> \($0.rawValue.lowercased())"
        }.joined(separator: " ") + " — \(HTML.esc(summary))</p>"
        let rows = page.runs.map { run -> [String] in
            [
                HTML.esc(HTML.time(run.window.start)) + " – " + HTML.esc(HTML.time(run.window.end)), HTML.esc(run.status.rawValue),
                HTML.esc(run.kind.rawValue), run.outputCount.map { "\($0)" } ?? "",
                run.errorMessage.map { "<span class=\"error-text\">\(HTML.esc($0))</span>" } ?? "",
            ]
        }
        return svg + legend
            + HTML.table(caption: "Newest runs", headers: ["Window", "Status", "Kind", "Documents", "Error"], rows: rows, id: "runs-table")
    }
}
