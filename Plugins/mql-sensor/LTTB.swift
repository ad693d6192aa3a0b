/// Largest-Triangle-Three-Buckets (Steinarsson, 2013): keeps `threshold` of `points` (sorted by x)
/// so that a line chart of the result looks like a chart of all of them. The first and last points
/// always stay; from each bucket between, the point forming the largest triangle with the point
/// kept before it and the average of the next bucket. Returns the indices kept, ascending.
enum LTTB {
    static func select(x: [Double], y: [Double], threshold: Int) -> [Int] {
        let count = x.count
        guard threshold >= 3, threshold < count else { return Array(0..<count) }
        var kept = [0]
        kept.reserveCapacity(threshold)
        let every = Double(count - 2) / Double(threshold - 2)
        var a = 0
        for bucket in 0..<(threshold - 2) {
            let start = Int(Double(bucket) * every) + 1
            let end = min(Int(Double(bucket + 1) * every) + 1, count - 1)
            // The next bucket's average point (the last point for the final bucket).
            let nextStart = end
            let nextEnd = min(Int(Double(bucket + 2) * every) + 1, count)
            var averageX = 0.0
            var averageY = 0.0
            for i in nextStart..<max(nextEnd, nextStart + 1) {
                averageX += x[i]
                averageY += y[i]
            }
            let span = Double(max(nextEnd - nextStart, 1))
            averageX /= span
            averageY /= span
            var best = start
            var bestArea = -1.0
            for i in start..<max(end, start + 1) {
                let area = abs((x[a] - averageX) * (y[i] - y[a]) - (x[a] - x[i]) * (averageY - y[a]))
                if area > bestArea {
                    bestArea = area
                    best = i
                }
            }
            kept.append(best)
            a = best
        }
        kept.append(count - 1)
        return kept
    }
}
