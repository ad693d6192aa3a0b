import FerryBSON

/// One result row of the hourly aggregation, whichever engine produced it.
struct Bucket: Equatable {
    var hour: Int64
    var component: String?
    var avg: Double
    var min: Double
    var max: Double
    var sum: Double
    var n: Int64
}

enum Buckets {
    struct Shape: Error, CustomStringConvertible {
        let description: String
    }

    /// FerryMQL's result documents: `{_id: date | {hour: date, component: string}, avg, min, max, sum, n}`.
    static func from(_ docs: [BSONDocument]) throws -> [Bucket] {
        try docs.map { d in
            let hour: Int64
            var component: String?
            switch d["_id"] {
            case .datetime(let ms)?: hour = ms
            case .document(let id)?:
                guard case .datetime(let ms)? = id["hour"], case .string(let c)? = id["component"] else {
                    throw Shape(description: "unexpected _id \(d.extendedJSON())")
                }
                hour = ms
                component = c
            default: throw Shape(description: "unexpected _id \(d.extendedJSON())")
            }
            guard let avg = d["avg"]?.doubleValue, let min = d["min"]?.doubleValue, let max = d["max"]?.doubleValue,
                let sum = d["sum"]?.doubleValue, let n = d["n"]?.int64Value
            else { throw Shape(description: "unexpected result \(d.extendedJSON())") }
            return Bucket(hour: hour, component: component, avg: avg, min: min, max: max, sum: sum, n: n)
        }
    }

    /// The same buckets computed directly in Swift, as a third opinion on the engines.
    static func reference(_ readings: ArraySlice<Reading>, perComponent: Bool) -> [Bucket] {
        struct Key: Hashable {
            var hour: Int64
            var component: Int
        }
        var acc: [Key: Bucket] = [:]
        for r in readings {
            let key = Key(hour: r.timeMs / 3_600_000 * 3_600_000, component: perComponent ? r.component : -1)
            let t = r.temperature
            if var b = acc[key] {
                b.sum += t
                b.min = Swift.min(b.min, t)
                b.max = Swift.max(b.max, t)
                b.n += 1
                acc[key] = b
            } else {
                acc[key] = Bucket(
                    hour: key.hour, component: perComponent ? ReadingGenerator.components[r.component] : nil, avg: 0, min: t, max: t,
                    sum: t, n: 1)
            }
        }
        return acc.values.map { b in
            var b = b
            b.avg = b.sum / Double(b.n)
            return b
        }.sorted { ($0.hour, $0.component ?? "") < ($1.hour, $1.component ?? "") }
    }

    /// Nil when `a` and `b` agree: the same buckets in the same order, the same counts, and
    /// avg/min/max/sum within `tolerance` relative. Otherwise the first difference.
    static func difference(_ a: [Bucket], _ b: [Bucket], tolerance: Double = 1e-9) -> String? {
        if a.count != b.count { return "\(a.count) buckets vs \(b.count)" }
        func close(_ x: Double, _ y: Double) -> Bool {
            x == y || abs(x - y) <= tolerance * Swift.max(abs(x), abs(y))
        }
        for (x, y) in zip(a, b) {
            if x.hour != y.hour || x.component != y.component {
                return "bucket (\(x.hour), \(x.component ?? "-")) vs (\(y.hour), \(y.component ?? "-"))"
            }
            if x.n != y.n || !close(x.avg, y.avg) || !close(x.min, y.min) || !close(x.max, y.max) || !close(x.sum, y.sum) {
                return "bucket (\(x.hour), \(x.component ?? "-")): \(x) vs \(y)"
            }
        }
        return nil
    }

    /// The largest relative difference of the float fields, to report how close "agree" is.
    static func maxRelativeDifference(_ a: [Bucket], _ b: [Bucket]) -> Double {
        var worst = 0.0
        for (x, y) in zip(a, b) {
            for (p, q) in [(x.avg, y.avg), (x.min, y.min), (x.max, y.max), (x.sum, y.sum)] where p != q {
                worst = Swift.max(worst, abs(p - q) / Swift.max(abs(p), abs(q)))
            }
        }
        return worst
    }
}
