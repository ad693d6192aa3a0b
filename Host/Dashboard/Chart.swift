import FerryAPI
import FerryBSON
import FerryStore
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
    /// Most points per component a chart draws (two per time bucket).
    static let maxChartPoints = 2_000

    /// The Data page's chart of `data.<field>` over time per component: the store reduces the
    /// matching readings to the lowest and highest value of each time bucket per component (see
    /// `ReadingSeries`), and those extremes, in time order, are the line.
    func chartSection(_ session: Session, _ filter: DataFilter, field: String, points: Int) async throws -> String {
        let heading = "<section aria-labelledby=\"chart-heading\"><h2 id=\"chart-heading\">Chart of \(HTML.esc(field))</h2>"
        let path = try Self.chartPath(field)
        let buckets = Self.chartBuckets(points)
        let svg: String
        do {
            svg = try await Self.chart(store: store, organizationID: session.organizationID, filter: filter.filter, path: path, buckets: buckets)
        } catch {
            return heading + HTML.alert(Self.message(error)) + "</section>"
        }
        return heading
            + "<p class=\"muted\">Downsampled on the server: the lowest and highest value in each of \(buckets) time buckets per component, so no spike is lost.</p>"
            + svg + "</section>"
    }

    /// A field path under `data`, as the chart form takes it: names of letters, digits, `_` and `-`, joined by dots.
    static func chartPath(_ field: String) throws -> [String] {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "_-."))
        guard !field.isEmpty, field.unicodeScalars.allSatisfy(allowed.contains), !field.hasPrefix("."), !field.hasSuffix("."),
            !field.contains("..")
        else {
            throw PageError("Chart field: \"\(field)\" is not a field path; write one such as readings.temperature (letters, digits, _ - and dots)")
        }
        return field.split(separator: ".").map(String.init)
    }

    /// Time buckets for a chart of at most `points` points per component (3 to `maxChartPoints`).
    static func chartBuckets(_ points: Int) -> Int { min(max(points, 3), maxChartPoints) / 2 }

    /// The chart's whole data path, store call to SVG (what Benchmarks/ChartBenchmark times).
    package static func chart(store: any ReadingSeries, organizationID: String, filter: ReadingFilter, path: [String], buckets: Int)
        async throws -> String
    {
        let extremes = try await storeCall {
            try await store.fieldExtremes(organizationID: organizationID, filter: filter, path: path, buckets: buckets)
        }
        let series = extremes.series.map { line in
            LineChart.Series(name: line.component, points: line.buckets.flatMap(\.points).map { (x: Double($0.time), y: $0.value) })
        }
        return LineChart(title: "\(path.joined(separator: ".")) over time, per component", series: series).svg
    }

    /// A line chart of `series` as the pages draw it (for Benchmarks/ChartBenchmark's all-in-memory path).
    package static func lineChartSVG(title: String, series: [(name: String, points: [(x: Double, y: Double)])]) -> String {
        LineChart(title: title, series: series.map { LineChart.Series(name: $0.name, points: $0.points) }).svg
    }
}
