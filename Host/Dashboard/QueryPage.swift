import FerryAPI
import FerryBSON
import FerryQuery
import FerryStore
import Foundation

/// Query: MQL or SQL over the organisation's readings, hot storage or a pipeline's sink, through
/// the query runner and SQL sandbox the gRPC API's TabularDataByMQL / TabularDataBySQL use; the
/// results as a table, errors as the API words them.
extension Dashboard {
    /// Most result rows the console shows (the query itself is bounded by the store's limits).
    static let queryRowLimit = 1_000

    func queryPage(_ session: Session, _ form: Form) async throws -> String {
        let language = form["language"] == "sql" ? "sql" : "mql"
        let sourceName = ["hot", "sink"].contains(form["source"]) ? form["source"] : "standard"
        let pipelineID = form["pipeline"]
        let text = form.raw("q") ?? ""
        let example = language == "sql"
            ? "SELECT component_name, count(*) AS n FROM readings GROUP BY component_name"
            : "[{\"$match\": {\"component_name\": \"sensor\"}}, {\"$limit\": 10}]"
        let pipelines = (try? await pipelines.list(organizationID: session.organizationID)) ?? []
        func option(_ value: String, _ label: String, _ current: String) -> String {
            "<option value=\"\(HTML.esc(value))\"\(value == current ? " selected" : "")>\(HTML.esc(label))</option>"
        }
        var out = """
            <form method="get" action="/query" id="query-form" aria-label="Query">
            <p class="filters">
            <label>Language <select name="language" id="language">\(option("mql", "MQL (aggregation pipeline)", language))\(option("sql", "SQL", language))</select></label>
            <label>Source <select name="source" id="source">\(option("standard", "Readings", sourceName))\(option("hot", "Hot storage", sourceName))\(option("sink", "Pipeline sink (MQL)", sourceName))</select></label>
            <label>Pipeline (for its sink) <select name="pipeline" id="pipeline"><option value="">—</option>\(pipelines.map { option($0.id, $0.name, pipelineID) }.joined())</select></label>
            </p>
            <label for="q">Query</label>
            <textarea name="q" id="q" spellcheck="false" placeholder="\(HTML.esc(example))">\(HTML.esc(text))</textarea>
            <p><button type="submit">Run</button></p>
            </form>
            """
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return out }
        let rows: [BSONDocument]
        do {
            rows = try await run(language: language, text: text, source: sourceName, pipelineID: pipelineID, org: session.organizationID)
        } catch {
            return out + "<div id=\"query-error\">" + HTML.alert(Self.message(error)) + "</div>"
        }
        out += resultsTable(rows)
        if !rows.isEmpty { out += chartControls(rows, form: form, language: language, source: sourceName, pipelineID: pipelineID, text: text) }
        return out
    }

    /// A chart of one result column against another (a time or a number), one line per value of an
    /// optional third column; drawn from the rows the query returned (downsample with `$lttb` in
    /// the query itself for long series).
    func chartControls(_ rows: [BSONDocument], form: Form, language: String, source: String, pipelineID: String, text: String) -> String {
        var columns: [String] = []
        for row in rows.prefix(Self.queryRowLimit) { for key in row.keys where !columns.contains(key) { columns.append(key) } }
        let x = form["x"], y = form["y"], by = form["by"]
        func select(_ name: String, _ label: String, _ current: String, optional: Bool) -> String {
            "<label>\(HTML.esc(label)) <select name=\"\(name)\" id=\"chart-\(name)\">" + (optional ? "<option value=\"\">—</option>" : "")
                + columns.map { "<option value=\"\(HTML.esc($0))\"\($0 == current ? " selected" : "")>\(HTML.esc($0))</option>" }.joined()
                + "</select></label>"
        }
        var out = """
            <form method="get" action="/query" class="filters" id="chart-form" aria-label="Chart the results">
            <input type="hidden" name="language" value="\(HTML.esc(language))"><input type="hidden" name="source" value="\(HTML.esc(source))">
            <input type="hidden" name="pipeline" value="\(HTML.esc(pipelineID))"><input type="hidden" name="q" value="\(HTML.esc(text))">
            \(select("x", "Across (time or number)", x, optional: false))\(select("y", "Up (number)", y, optional: false))\(select("by", "One line per", by, optional: true))
            <button type="submit">Chart</button></form>
            """
        guard !x.isEmpty, !y.isEmpty else { return out }
        var order: [String] = []
        var series: [String: [(x: Double, y: Double)]] = [:]
        var allTimes = true
        for row in rows {
            let xValue: Double
            switch row[x] {
            case .datetime(let ms)?: xValue = Double(ms)
            case let value?:
                guard let number = value.doubleValue else { continue }
                allTimes = false
                xValue = number
            case nil: continue
            }
            guard let yValue = row[y]?.doubleValue, yValue.isFinite, xValue.isFinite else { continue }
            let name = by.isEmpty ? y : (row[by].map { $0.stringValue ?? $0.extendedJSON() } ?? "")
            if series[name] == nil { order.append(name) }
            series[name, default: []].append((xValue, yValue))
        }
        var chart = LineChart(title: "\(y) by \(x)", series: order.map { LineChart.Series(name: $0, points: series[$0]!) })
        if !allTimes { chart.xLabel = LineChart.format }
        out += chart.svg
        return out
    }

    func run(language: String, text: String, source: String, pipelineID: String, org: String) async throws -> [BSONDocument] {
        if language == "sql" {
            guard source != "sink" else { throw PageError("SQL reads readings or hot storage; query a pipeline's sink with MQL") }
            return try await storeCall {
                try await store.tabularDataBySQL(organizationID: org, source: source == "hot" ? .hotStorage : .standard, query: text)
            }
        }
        let stages: [BSONDocument]
        do {
            stages = try BSONDocument.parseExtendedJSONDocuments(text)
        } catch {
            throw PageError("the MQL pipeline is not JSON: \(error); write an array of stages such as [{\"$match\": {}}]")
        }
        let querySource: QuerySource
        switch source {
        case "hot": querySource = .hotStorage
        case "sink":
            guard !pipelineID.isEmpty else { throw PageError("choose the pipeline whose sink to query") }
            querySource = .pipelineSink(pipelineID)
        default: querySource = .standard
        }
        return try await queries.mql(stages, organizationID: org, source: querySource)
    }

    /// Results as a table: one column per top-level field, in order of first appearance.
    func resultsTable(_ rows: [BSONDocument]) -> String {
        var columns: [String] = []
        var seen: Set<String> = []
        for row in rows.prefix(Self.queryRowLimit) {
            for key in row.keys where seen.insert(key).inserted { columns.append(key) }
        }
        let cells = rows.prefix(Self.queryRowLimit).map { row in
            columns.map { column -> String in
                guard let value = row[column] else { return "" }
                if case .string(let text) = value { return HTML.esc(text) }
                return "<code>\(HTML.esc(value.extendedJSON()))</code>"
            }
        }
        let shown = rows.count > Self.queryRowLimit ? "the first \(Self.queryRowLimit) of \(rows.count) rows" : "\(rows.count) rows"
        if rows.isEmpty { return "<div id=\"results\">" + HTML.notice("The query returned no rows.") + "</div>" }
        return "<div id=\"results\">" + HTML.table(caption: "Results: \(shown)", headers: columns, rows: cells, id: "results-table") + "</div>"
    }
}
