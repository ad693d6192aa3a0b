import FerryBSON
import Foundation

/// `$bucket` and `$bucketAuto`.
enum BucketStages {
    static func groupByExpression(_ spec: BSON?, _ c: ExprCompiler, stage: String) throws -> EvalFunction {
        guard let spec else { throw mqlError(stage, "\(stage) requires 'groupBy' to be specified") }
        switch spec {
        case .string(let s) where s.hasPrefix("$"): break
        case .document(let d) where d.count == 1 && d.elements[0].key.hasPrefix("$"): break
        default:
            throw mqlError(stage, "the \(stage) 'groupBy' field must be defined as a $-prefixed path or an expression object, but found: \(Values.describe(spec))")
        }
        return try c.compile(spec).eval
    }

    static func outputFields(_ spec: BSON?, _ c: ExprCompiler, stage: String) throws -> [GroupStage.Field] {
        guard let spec else {
            let count = AccumulatorSpec(name: "$sum", argument: { _ in .int32(1) }, make: { SumAccumulator() })
            return [GroupStage.Field(name: "count", spec: count, growing: false)]
        }
        guard case .document(let d) = spec else {
            throw mqlError(stage, "the \(stage) 'output' field must be an object, but found type: \(Values.typeName(spec))")
        }
        return try GroupStage.accumulatorFields(d.elements, c, stage: stage)
    }

    // MARK: $bucket

    static func compileBucket(_ s: StageInput) throws -> StageOpen {
        let stage = "$bucket"
        guard case .document(let d) = s.spec else {
            throw mqlError(stage, "argument to $bucket stage must be an object, but found type: \(Values.typeName(s.spec))")
        }
        for key in d.keys where !["groupBy", "boundaries", "default", "output"].contains(key) {
            throw mqlError(stage, "unrecognized option to $bucket: \(key)")
        }
        let groupBy = try groupByExpression(d["groupBy"], s.compiler, stage: stage)
        guard let boundarySpec = d["boundaries"] else { throw mqlError(stage, "$bucket requires 'boundaries' to be specified") }
        guard case .array(let boundaries) = boundarySpec else {
            throw mqlError(stage, "the $bucket 'boundaries' field must be an array, but found type: \(Values.typeName(boundarySpec))")
        }
        if boundaries.count < 2 {
            throw mqlError(stage, "the $bucket 'boundaries' field must have at least 2 values, but found \(boundaries.count) value\(boundaries.count == 1 ? "" : "s")")
        }
        for (i, b) in boundaries.enumerated() {
            if case .document(let bd) = b, bd.elements.first?.key.hasPrefix("$") == true {
                throw mqlError(stage, "the $bucket 'boundaries' field must be an array of constant values, but found value: \(Values.describe(b))")
            }
            if i > 0 {
                let prev = boundaries[i - 1]
                if BSONOrder.rank(prev) != BSONOrder.rank(b) {
                    throw mqlError(stage, "all values in the the 'boundaries' option to $bucket must have the same type. Found conflicting types \(Values.typeName(prev)) and \(Values.typeName(b)).")
                }
                if BSONOrder.compare(prev, b) >= 0 {
                    throw mqlError(stage, "the 'boundaries' option to $bucket must be sorted in ascending order, but elements \(i - 1) and \(i) are not in ascending order (\(Values.describe(prev)) is not less than \(Values.describe(b))).")
                }
            }
        }
        let fallback = d["default"]
        if let fallback, BSONOrder.rank(fallback) == BSONOrder.rank(boundaries[0]),
            BSONOrder.compare(fallback, boundaries[0]) >= 0, BSONOrder.compare(fallback, boundaries.last!) < 0
        {
            throw mqlError(stage, "the $bucket 'default' field must be less than the lowest boundary or greater than or equal to the highest boundary.")
        }
        let fields = try outputFields(d["output"], s.compiler, stage: stage)
        let rank = BSONOrder.rank(boundaries[0])
        let id: EvalFunction = { ctx in
            let v = try groupBy(ctx) ?? .null
            if BSONOrder.rank(v) == rank, BSONOrder.compare(v, boundaries[0]) >= 0, BSONOrder.compare(v, boundaries.last!) < 0 {
                // Binary search for the bucket whose [lower, upper) holds v.
                var lo = 0, hi = boundaries.count - 1
                while hi - lo > 1 {
                    let mid = (lo + hi) / 2
                    if BSONOrder.compare(v, boundaries[mid]) >= 0 { lo = mid } else { hi = mid }
                }
                return boundaries[lo]
            }
            guard let fallback else {
                throw mqlError(stage, "$bucket could not find a matching branch for an input, and no default was specified. Input value: \(Values.describe(v))")
            }
            return fallback
        }
        let sort = SortSpec(keys: [SortSpec.Key(path: ["_id"], descending: false)])
        return { upstream, ctx in
            BlockingSource { sort.sort(try GroupStage.run(upstream, ctx, id: id, fields: fields, stage: stage)) }
        }
    }

    // MARK: $bucketAuto

    static func compileBucketAuto(_ s: StageInput) throws -> StageOpen {
        let stage = "$bucketAuto"
        guard case .document(let d) = s.spec else {
            throw mqlError(stage, "the argument to $bucketAuto must be an object, but found type: \(Values.typeName(s.spec))")
        }
        for key in d.keys where !["groupBy", "buckets", "output", "granularity"].contains(key) {
            throw mqlError(stage, "unrecognized option to $bucketAuto: \(key)")
        }
        let groupBy = try groupByExpression(d["groupBy"], s.compiler, stage: stage)
        guard let bucketsValue = d["buckets"] else { throw mqlError(stage, "$bucketAuto requires 'buckets' to be specified") }
        guard bucketsValue.isNumeric, let buckets = bucketsValue.exactInt32 else {
            throw mqlError(stage, "the $bucketAuto 'buckets' field must be a numeric value representable as a 32-bit integer, but found \(Values.describe(bucketsValue))")
        }
        guard buckets > 0 else { throw mqlError(stage, "the $bucketAuto 'buckets' field must be greater than 0, but found: \(buckets)") }
        var rounder: GranularityRounder?
        if let g = d["granularity"] {
            guard case .string(let name) = g else {
                throw mqlError(stage, "the $bucketAuto 'granularity' field must be a string, but found type: \(Values.typeName(g))")
            }
            guard let r = GranularityRounder(name: name) else {
                throw mqlError(stage, "unknown rounding granularity '\(name)'")
            }
            rounder = r
        }
        let fields = try outputFields(d["output"], s.compiler, stage: stage)
        let n = Int(buckets)
        return { [rounder] upstream, ctx in
            BlockingSource { try runAuto(upstream, ctx, groupBy: groupBy, buckets: n, fields: fields, rounder: rounder) }
        }
    }

    /// MongoDB's algorithm: sort by the key, fill each bucket with about n / buckets documents
    /// (the last takes the rest), then absorb the following documents with an equal key (or, with a
    /// granularity, any key below the rounded-up boundary). Without a granularity a bucket ends
    /// where the next begins; with one, bucket boundaries are the rounded values and each bucket
    /// starts where the previous one ended.
    static func runAuto(
        _ upstream: DocumentSource, _ ctx: EvalContext, groupBy: EvalFunction, buckets: Int, fields: [GroupStage.Field],
        rounder: GranularityRounder?
    ) throws -> [BSONDocument] {
        var budget = MemoryBudget(limit: ctx.environment.options.memoryLimitBytes, stage: "$bucketAuto")
        var entries: [(key: BSON, doc: BSONDocument)] = []
        while let doc = try upstream.next() {
            ctx.setDocument(doc)
            let key = try groupBy(ctx) ?? .null
            if rounder != nil {
                guard key.isNumeric, let d = key.numericDouble else {
                    throw mqlError("$bucketAuto", "$bucketAuto can specify a 'granularity' with numeric boundaries only, but found a value with type: \(Values.typeName(key))")
                }
                if d.isNaN {
                    throw mqlError("$bucketAuto", "$bucketAuto can specify a 'granularity' with numeric boundaries only, but found a NaN")
                }
                if d < 0 {
                    throw mqlError("$bucketAuto", "$bucketAuto can specify a 'granularity' with non-negative numbers only, but found a negative number: \(Values.describe(key))")
                }
            }
            try budget.add(Values.estimatedSize(doc) + Values.estimatedSize(key))
            entries.append((key, doc))
        }
        if entries.isEmpty { return [] }
        let order = entries.indices.sorted { i, j in
            let c = BSONOrder.compare(entries[i].key, entries[j].key)
            return c != 0 ? c < 0 : i < j
        }
        // C's round(): halves away from zero; at least one document a bucket.
        let approximateSize = max(1, Int((Double(entries.count) / Double(buckets)).rounded(.toNearestOrAwayFromZero)))
        struct Bucket {
            var min: BSON
            var max: BSON
            var states: [AccumulatorState]
        }
        func key(_ position: Int) -> BSON { entries[order[position]].key }
        func add(_ bucket: inout Bucket, _ position: Int) throws {
            let entry = entries[order[position]]
            ctx.setDocument(entry.doc)
            for (k, field) in fields.enumerated() { try bucket.states[k].add(try field.spec.argument(ctx)) }
            bucket.max = entry.key
        }
        var result: [Bucket] = []
        var position = 0
        var previousMax: BSON?
        for number in 1...buckets {
            guard position < order.count else { break }
            let isLast = number == buckets
            let first = key(position)
            var bucket = Bucket(min: first, max: first, states: try fields.map { try $0.spec.make() })
            if let rounder { bucket.min = try previousMax ?? rounder.roundDown(first) }
            try add(&bucket, position)
            position += 1
            var taken = 1
            while position < order.count, taken < approximateSize || isLast {
                try add(&bucket, position)
                position += 1
                taken += 1
            }
            if let rounder {
                let boundary = try rounder.roundUp(bucket.max)
                while position < order.count,
                    BSONOrder.compare(boundary, key(position)) > 0 || BSONOrder.compare(bucket.max, key(position)) == 0
                {
                    try add(&bucket, position)
                    position += 1
                }
                // A bucket of zeros rounds up to zero: it ends where the next key rounds down to.
                if boundary.numericDouble == 0, position < order.count {
                    bucket.max = try rounder.roundDown(key(position))
                } else {
                    bucket.max = boundary
                }
            } else {
                while position < order.count, BSONOrder.compare(bucket.max, key(position)) == 0 {
                    try add(&bucket, position)
                    position += 1
                }
                if position < order.count { bucket.max = key(position) }
            }
            previousMax = bucket.max
            result.append(bucket)
        }
        return try result.map { bucket in
            var doc = BSONDocument()
            doc.append("_id", .document(["min": bucket.min, "max": bucket.max]))
            for (k, field) in fields.enumerated() {
                doc.append(field.name, try bucket.states[k].result() ?? .null)
            }
            return doc
        }
    }
}

/// `$bucketAuto`'s `granularity`: rounding bucket boundaries to a preferred-number series or to
/// powers of two, computed as MongoDB computes them (so the floating-point results match).
struct GranularityRounder: Sendable {
    let series: [Double]?

    static let preferred: [String: [Double]] = [
        "R5": [10, 16, 25, 40, 63],
        "R10": [100, 125, 160, 200, 250, 315, 400, 500, 630, 800],
        "R20": [100, 112, 125, 140, 160, 180, 200, 224, 250, 280, 315, 355, 400, 450, 500, 560, 630, 710, 800, 900],
        "R40": [
            100, 106, 112, 118, 125, 132, 140, 150, 160, 170, 180, 190, 200, 212, 224, 236, 250, 265, 280, 300, 315, 355, 375,
            400, 425, 450, 475, 500, 530, 560, 600, 630, 670, 710, 750, 800, 850, 900, 950,
        ],
        "R80": [
            103, 109, 115, 122, 128, 136, 145, 155, 165, 175, 185, 195, 206, 218, 230, 243, 258, 272, 290, 307, 325, 345, 365,
            387, 412, 437, 462, 487, 515, 545, 575, 615, 650, 690, 730, 775, 825, 875, 925, 975,
        ],
        "1-2-5": [10, 20, 50],
        "E6": [10, 15, 22, 33, 47, 68],
        "E12": [10, 12, 15, 18, 22, 27, 33, 39, 47, 56, 68, 82],
        "E24": [10, 11, 12, 13, 15, 16, 18, 20, 22, 24, 27, 30, 33, 36, 39, 43, 47, 51, 56, 62, 68, 75, 82, 91],
        "E48": [
            100, 105, 110, 115, 121, 127, 133, 140, 147, 154, 162, 169, 178, 187, 196, 205, 215, 226, 237, 249, 261, 274, 287,
            301, 316, 332, 348, 365, 383, 402, 422, 442, 464, 487, 511, 536, 562, 590, 619, 649, 681, 715, 750, 787, 825, 866,
            909, 953,
        ],
        "E96": [
            100, 102, 105, 107, 110, 113, 115, 118, 121, 124, 127, 130, 133, 137, 140, 143, 147, 150, 154, 158, 162, 165, 169,
            174, 178, 182, 187, 191, 196, 200, 205, 210, 215, 221, 226, 232, 237, 243, 249, 255, 261, 267, 274, 280, 287, 294,
            301, 309, 316, 324, 332, 340, 348, 357, 365, 374, 383, 392, 402, 412, 422, 432, 442, 453, 464, 475, 487, 499, 511,
            523, 536, 549, 562, 576, 590, 604, 619, 634, 649, 665, 681, 698, 715, 732, 750, 768, 787, 806, 825, 845, 866, 887,
            909, 931, 953, 976,
        ],
        "E192": [
            100, 101, 102, 104, 105, 106, 107, 109, 110, 111, 113, 114, 115, 117, 118, 120, 121, 123, 124, 126, 127, 129, 130,
            132, 133, 135, 137, 138, 140, 142, 143, 145, 147, 149, 150, 152, 154, 156, 158, 160, 162, 164, 165, 167, 169, 172,
            174, 176, 178, 180, 182, 184, 187, 189, 191, 193, 196, 198, 200, 203, 205, 208, 210, 213, 215, 218, 221, 223, 226,
            229, 232, 234, 237, 240, 243, 246, 249, 252, 255, 258, 261, 264, 267, 271, 274, 277, 280, 284, 287, 291, 294, 298,
            301, 305, 309, 312, 316, 320, 324, 328, 332, 336, 340, 344, 348, 352, 357, 361, 365, 370, 374, 379, 383, 388, 392,
            397, 402, 407, 412, 417, 422, 427, 432, 437, 442, 448, 453, 459, 464, 470, 475, 481, 487, 493, 499, 505, 511, 517,
            523, 530, 536, 542, 549, 556, 562, 569, 576, 583, 590, 597, 604, 612, 619, 626, 634, 642, 649, 657, 665, 673, 681,
            690, 698, 706, 715, 723, 732, 741, 750, 759, 768, 777, 787, 796, 806, 816, 825, 835, 845, 856, 866, 876, 887, 898,
            909, 920, 931, 942, 953, 965, 976, 988,
        ],
    ]

    init?(name: String) {
        if name == "POWERSOF2" {
            series = nil
        } else if let s = GranularityRounder.preferred[name] {
            series = s
        } else {
            return nil
        }
    }

    private func check(_ v: BSON) throws -> Double {
        guard v.isNumeric, let d = v.numericDouble else {
            throw mqlError("$bucketAuto", "a granularity rounder can only round numeric values, but found type: \(Values.typeName(v))")
        }
        if d.isNaN { throw mqlError("$bucketAuto", "a granularity rounder cannot round NaN") }
        if d < 0 { throw mqlError("$bucketAuto", "a granularity rounder can only round non-negative numbers") }
        if !d.isFinite { throw mqlError("$bucketAuto", "a granularity rounder can only round finite numbers") }
        return d
    }

    func roundUp(_ v: BSON) throws -> BSON {
        let number = try check(v)
        if number == 0 { return v }
        guard let series else {
            let exponent: Int64
            switch v {
            case .double, .decimal128: exponent = Int64((Foundation.log2(number)).rounded(.down) + 1)
            default: exponent = Int64(64 - v.exactInt64!.leadingZeroBitCount)
            }
            return try powerOfTwo(exponent, like: v)
        }
        if case .decimal128(let bits) = v {
            return try decimalRound(Dec128(bits), series: series, up: true).bson
        }
        var multiplier = 1.0
        while number >= series.last! * multiplier { multiplier *= 10 }
        while number < series.first! * multiplier {
            let previousMin = series.first! * multiplier
            multiplier /= 10
            if number >= series.last! * multiplier { return .double(previousMin) }
        }
        let next = series.first { number < $0 * multiplier }!
        return .double(next * multiplier)
    }

    func roundDown(_ v: BSON) throws -> BSON {
        let number = try check(v)
        if number == 0 { return v }
        guard let series else {
            let exponent: Int64
            switch v {
            case .double, .decimal128:
                // MongoDB's formula, so a value a hair above a power of two rounds as MongoDB rounds it.
                exponent = Int64(Foundation.log2(number).rounded(.up) - 1)
            default:
                let n = v.exactInt64!
                // A power of two rounds down to the one below it.
                exponent = Int64(63 - n.leadingZeroBitCount) - (n & (n - 1) == 0 ? 1 : 0)
            }
            return try powerOfTwo(exponent, like: v)
        }
        if case .decimal128(let bits) = v {
            return try decimalRound(Dec128(bits), series: series, up: false).bson
        }
        var multiplier = 1.0
        while number <= series.first! * multiplier { multiplier /= 10 }
        while number > series.last! * multiplier {
            let previousMax = series.last! * multiplier
            multiplier *= 10
            if number <= series.first! * multiplier { return .double(previousMax) }
        }
        let index = series.firstIndex { !($0 * multiplier < number) }!
        return .double(series[index - 1] * multiplier)
    }

    private func powerOfTwo(_ exponent: Int64, like v: BSON) throws -> BSON {
        let e: BSON = v.numericKind == .decimal ? Dec128(exponent).bson : .int64(exponent)
        return try ArithmeticOperators.power(.int32(2), exponent >= Int64(Int32.min) && exponent <= Int64(Int32.max) && v.numericKind != .decimal ? .int32(Int32(exponent)) : e) ?? .null
    }

    private func decimalRound(_ number: Dec128, series: [Double], up: Bool) throws -> Dec128 {
        let decimals = series.map { Dec128(double: $0) }
        let ten = Dec128(10)
        var multiplier = Dec128(1)
        func times(_ d: Dec128) -> Dec128 { d * multiplier }
        func less(_ a: Dec128, _ b: Dec128) -> Bool { Dec128.compare(a, b) < 0 }
        if up {
            while !less(number, times(decimals.last!)) { multiplier = multiplier * ten }
            while less(number, times(decimals.first!)) {
                let previousMin = times(decimals.first!)
                multiplier = (multiplier / ten)!
                if !less(number, times(decimals.last!)) { return previousMin }
            }
            return times(decimals.first { less(number, times($0)) }!)
        }
        while !less(times(decimals.first!), number) { multiplier = (multiplier / ten)! }
        while less(times(decimals.last!), number) {
            let previousMax = times(decimals.last!)
            multiplier = multiplier * ten
            if !less(times(decimals.first!), number) { return previousMax }
        }
        let index = decimals.firstIndex { !less(times($0), number) }!
        return times(decimals[index - 1])
    }
}
