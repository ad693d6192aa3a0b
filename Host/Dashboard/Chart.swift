import FerryAPI
import FerryBSON
import Foundation

/// A line chart drawn by the server as SVG: one line per series (component), time (or any number) across.
struct LineChart {
    struct Series {
        var name: String
        var points: [(x: Double, y: Double)]
    }

    var title: String
    var series: [Series]
    /// How an x value reads on the axis: a time of milliseconds since the epoch unless told.
    var xLabel: (Double) -> String = { HTML.time(Int64($0)) }
    var width = 800.0
    var height = 320.0

    /// Colours that keep 4.5:1 against white and stay apart for common colour blindness (Okabe–Ito, darkened).
    static let palette = ["#0b5cad", "#b35900", "#1b6e20", "#a4006b", "#5a4a9c", "#8a6d00", "#00707a", "#a40000"]

    var svg: String {
        let all = series.flatMap(\.points)
        guard let minX = all.map(\.x).min(), let maxX = all.map(\.x).max(), var minY = all.map(\.y).min(),
            var maxY = all.map(\.y).max()
        else { return HTML.notice("Nothing to chart: no reading has a number in this field.") }
        if minY == maxY {
            minY -= 1
            maxY += 1
        }
        let left = 70.0, right = 16.0, top = 16.0, bottom = 40.0
        let plotW = width - left - right, plotH = height - top - bottom
        let spanX = maxX - minX > 0 ? maxX - minX : 1
        func px(_ x: Double) -> Double { left + (x - minX) / spanX * plotW }
        func py(_ y: Double) -> Double { top + (1 - (y - minY) / (maxY - minY)) * plotH }
        func number(_ v: Double) -> String { String(format: "%.1f", v) }
        var out = "<figure><svg id=\"chart\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" aria-labelledby=\"chart-title\">"
        out += "<title id=\"chart-title\">\(HTML.esc(title))</title>"
        out += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotW)\" height=\"\(plotH)\" fill=\"#fff\" stroke=\"#767676\"/>"
        for i in 0...4 {
            let value = minY + (maxY - minY) * Double(i) / 4
            let y = py(value)
            out += "<line x1=\"\(left)\" x2=\"\(left + plotW)\" y1=\"\(number(y))\" y2=\"\(number(y))\" stroke=\"#ddd\"/>"
            out += "<text x=\"\(left - 6)\" y=\"\(number(y + 4))\" text-anchor=\"end\" font-size=\"12\" fill=\"#1a1a1a\">\(HTML.esc(Self.format(value)))</text>"
        }
        out += "<text x=\"\(left)\" y=\"\(height - 12)\" font-size=\"12\" fill=\"#1a1a1a\">\(HTML.esc(xLabel(minX)))</text>"
        out += "<text x=\"\(left + plotW)\" y=\"\(height - 12)\" text-anchor=\"end\" font-size=\"12\" fill=\"#1a1a1a\">\(HTML.esc(xLabel(maxX)))</text>"
        for (index, line) in series.enumerated() {
            let colour = Self.palette[index % Self.palette.count]
            let points = line.points.sorted { $0.x < $1.x }.map { "\(number(px($0.x))),\(number(py($0.y)))" }.joined(separator: " ")
            out += "<polyline class=\"series\" data-series=\"\(HTML.esc(line.name))\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" points=\"\(points)\"><title>\(HTML.esc(line.name))</title></polyline>"
        }
        out += "</svg><figcaption><ul class=\"legend\">"
        for (index, line) in series.enumerated() {
            let colour = Self.palette[index % Self.palette.count]
            out += "<li><svg width=\"14\" height=\"14\" aria-hidden=\"true\"><rect width=\"14\" height=\"14\" fill=\"\(colour)\"/></svg> "
                + "\(HTML.esc(line.name.isEmpty ? "(no component name)" : line.name)): \(line.points.count) points</li>"
        }
        out += "</ul></figcaption></figure>"
        return out
    }

    static func format(_ value: Double) -> String {
        abs(value) >= 1e5 || (abs(value) < 1e-2 && value != 0) ? String(format: "%.3g", value) : String(format: "%.2f", value)
    }
}

extension Dashboard {
    /// Most points per component a chart asks `$lttb` for.
    static let maxChartPoints = 2_000

    /// The chart of `data.<field>` over time per component for the Data page's filter: the query runs
    /// through the API's query runner, `$lttb` downsampling on the server.
    func chartSection(_ session: Session, _ filter: DataFilter, field: String, points: Int) async throws -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "_-."))
        guard !field.isEmpty, field.unicodeScalars.allSatisfy(allowed.contains), !field.hasPrefix("."), !field.hasSuffix("."),
            !field.contains("..")
        else {
            throw PageError("Chart field: \"\(field)\" is not a field path; write one such as readings.temperature (letters, digits, _ - and dots)")
        }
        let stages: [BSONDocument] = [
            ["$match": .document(filter.match)],
            ["$project": ["_id": 0, "t": "$time_received", "c": "$component_name", "v": .string("$data." + field)]],
            ["$lttb": ["x": "$t", "y": "$v", "points": .int32(Int32(min(max(points, 3), Self.maxChartPoints))), "partitionBy": "$c"]],
        ]
        let rows: [BSONDocument]
        do {
            rows = try await queries.mql(stages, organizationID: session.organizationID, source: .standard)
        } catch {
            return "<section aria-labelledby=\"chart-heading\"><h2 id=\"chart-heading\">Chart of \(HTML.esc(field))</h2>"
                + HTML.alert(Self.message(error)) + "</section>"
        }
        var order: [String] = []
        var series: [String: [(x: Double, y: Double)]] = [:]
        for row in rows {
            guard case .datetime(let t)? = row["t"], let v = row["v"]?.doubleValue else { continue }
            let x = Double(t)
            let name = row["c"]?.stringValue ?? ""
            if series[name] == nil { order.append(name) }
            series[name, default: []].append((x, v))
        }
        let chart = LineChart(title: "\(field) over time, per component", series: order.map { LineChart.Series(name: $0, points: series[$0]!) })
        return "<section aria-labelledby=\"chart-heading\"><h2 id=\"chart-heading\">Chart of \(HTML.esc(field))</h2>"
            + "<p class=\"muted\">Downsampled on the server with $lttb to at most \(min(max(points, 3), Self.maxChartPoints)) points per component.</p>"
            + chart.svg + "</section>"
    }
}
