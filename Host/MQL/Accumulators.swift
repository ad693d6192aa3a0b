import FerryBSON
import Foundation

/// One accumulator's running state for one group (or one window). `add` receives the value its
/// argument evaluated to (nil: missing); `result` may be called more than once.
protocol AccumulatorState: AnyObject {
    func add(_ value: BSON?) throws
    func result() throws -> BSON?
    /// Approximate bytes held, for the memory limit (only growing states report more than a few).
    var estimatedBytes: Int { get }
}

extension AccumulatorState {
    var estimatedBytes: Int { 64 }
}

/// States whose inputs can also be taken out again: windows slide them instead of recomputing.
protocol RemovableAccumulatorState: AccumulatorState {
    func remove(_ value: BSON?) throws
}

/// `$sum`'s running total: the narrowest result type, int32 overflowing into int64, int64 into
/// double; doubles summed with compensation (MongoDB uses double-double summation); any
/// decimal makes the result decimal.
struct SumState {
    var widest: NumericKind = .int32
    var longTotal: Int64 = 0
    var longOverflowed = false
    var doubleSum: Double = 0
    var doubleCompensation: Double = 0
    var decimalTotal = Dec128.zero
    var sawDecimal = false
    var count = 0

    mutating func add(_ v: BSON) {
        count += 1
        widest = max(widest, v.numericKind!)
        switch v {
        case .int32(let i): addLong(Int64(i))
        case .int64(let i): addLong(i)
        case .double(let d): addDouble(d)
        case .decimal128(let d):
            sawDecimal = true
            decimalTotal = decimalTotal + Dec128(d)
        default: break
        }
    }

    mutating func remove(_ v: BSON) {
        count -= 1
        switch v {
        case .int32(let i): addLong(-Int64(i))
        case .int64(let i): if i == .min { addDouble(-Double(i)) } else { addLong(-i) }
        case .double(let d): addDouble(-d)
        case .decimal128(let d): decimalTotal = decimalTotal - Dec128(d)
        default: break
        }
    }

    private mutating func addLong(_ i: Int64) {
        if !longOverflowed {
            let (s, overflow) = longTotal.addingReportingOverflow(i)
            if !overflow {
                longTotal = s
                return
            }
            longOverflowed = true
            addDouble(Double(longTotal))
            longTotal = 0
        }
        addDouble(Double(i))
    }

    private mutating func addDouble(_ d: Double) {
        // Neumaier's compensated summation.
        let t = doubleSum + d
        if abs(doubleSum) >= abs(d) {
            doubleCompensation += (doubleSum - t) + d
        } else {
            doubleCompensation += (d - t) + doubleSum
        }
        doubleSum = t
    }

    /// The non-decimal part as a double.
    var doubleTotal: Double {
        let compensated = doubleSum + doubleCompensation
        let total = (compensated.isFinite ? compensated : doubleSum) + Double(longTotal)
        return total
    }

    var value: BSON {
        if sawDecimal {
            // As MongoDB: the non-decimal part joins through its double value, 34 digits.
            if longTotal == 0 && doubleSum == 0 && !longOverflowed { return decimalTotal.bson }
            return (decimalTotal + Dec128(double: doubleTotal, digits: 34)).bson
        }
        switch widest {
        case .int32, .int64:
            if !longOverflowed && doubleSum == 0 {
                return integerResult(longTotal, narrowTo: widest)
            }
            return .double(doubleTotal)
        case .double, .decimal:
            return .double(doubleTotal)
        }
    }

    /// `$avg`: the total divided by the count, as double (decimal when any input was decimal).
    var average: BSON {
        if count == 0 { return .null }
        if sawDecimal {
            guard case .decimal128(let bits) = value else { return .null }
            return (Dec128(bits) / Dec128(Int64(count)))?.bson ?? .null
        }
        if widest <= .int64 && !longOverflowed && doubleSum == 0 {
            return .double(Double(longTotal) / Double(count))
        }
        return .double(doubleTotal / Double(count))
    }
}

// A state belongs to one group (or window) of one run, and only the thread pulling that run's
// cursor touches it (as `EvalContext`): the running sums skip Swift's dynamic exclusivity checks,
// a runtime call on every row.
final class SumAccumulator: RemovableAccumulatorState {
    @exclusivity(unchecked) var state = SumState()
    func add(_ value: BSON?) { if let value, value.isNumeric { state.add(value) } }
    func remove(_ value: BSON?) { if let value, value.isNumeric { state.remove(value) } }
    func result() -> BSON? { state.value }
}

final class AvgAccumulator: RemovableAccumulatorState {
    @exclusivity(unchecked) var state = SumState()
    func add(_ value: BSON?) { if let value, value.isNumeric { state.add(value) } }
    func remove(_ value: BSON?) { if let value, value.isNumeric { state.remove(value) } }
    func result() -> BSON? { state.average }
}

final class CountAccumulator: RemovableAccumulatorState {
    var count: Int64 = 0
    func add(_ value: BSON?) { count += 1 }
    func remove(_ value: BSON?) { count -= 1 }
    func result() -> BSON? { integerResult(count, narrowTo: .int32) }
}

/// `$min`/`$max`: null, undefined and missing are ignored; nothing left gives null.
final class MinMaxAccumulator: AccumulatorState {
    let isMax: Bool
    var best: BSON?
    init(isMax: Bool) { self.isMax = isMax }
    func add(_ value: BSON?) {
        guard let value, !Values.isNullish(value) else { return }
        guard let current = best else {
            best = value
            return
        }
        let c = BSONOrder.compare(value, current)
        if isMax ? c > 0 : c < 0 { best = value }
    }
    func result() -> BSON? { best ?? .null }
    var estimatedBytes: Int { 32 + (best.map(Values.estimatedSize) ?? 0) }
}

/// `$first`/`$last`: missing counts as null.
final class FirstLastAccumulator: AccumulatorState {
    let isLast: Bool
    var value: BSON?
    var seen = false
    init(isLast: Bool) { self.isLast = isLast }
    func add(_ v: BSON?) {
        if isLast || !seen {
            value = v ?? .null
            seen = true
        }
    }
    func result() -> BSON? { seen ? value : .null }
    var estimatedBytes: Int { 32 + (value.map(Values.estimatedSize) ?? 0) }
}

/// `$push`: missing values are skipped.
final class PushAccumulator: AccumulatorState {
    var values: [BSON] = []
    var bytes = 32
    func add(_ v: BSON?) {
        guard let v else { return }
        values.append(v)
        bytes += 8 + Values.estimatedSize(v)
    }
    func result() -> BSON? { .array(values) }
    var estimatedBytes: Int { bytes }
}

/// `$addToSet`: distinct values (MongoDB equality), in the order first seen.
final class AddToSetAccumulator: AccumulatorState {
    var seen = Set<GroupKey>()
    var values: [BSON] = []
    var bytes = 32
    func add(_ v: BSON?) {
        guard let v else { return }
        if seen.insert(GroupKey(v)).inserted {
            values.append(v)
            bytes += 24 + Values.estimatedSize(v)
        }
    }
    func result() -> BSON? { .array(values) }
    var estimatedBytes: Int { bytes }
}

/// `$stdDevPop`/`$stdDevSamp`: Welford's algorithm over the numeric inputs.
final class StdDevAccumulator: RemovableAccumulatorState {
    let sample: Bool
    var count = 0
    var mean = 0.0
    var m2 = 0.0
    init(sample: Bool) { self.sample = sample }
    func add(_ v: BSON?) {
        guard let v, v.isNumeric, let x = v.numericDouble else { return }
        count += 1
        let delta = x - mean
        mean += delta / Double(count)
        m2 += delta * (x - mean)
    }
    func remove(_ v: BSON?) {
        guard let v, v.isNumeric, let x = v.numericDouble else { return }
        if count <= 1 {
            count = 0; mean = 0; m2 = 0
            return
        }
        let oldMean = mean
        mean = (mean * Double(count) - x) / Double(count - 1)
        m2 -= (x - oldMean) * (x - mean)
        count -= 1
        if m2 < 0 { m2 = 0 }
    }
    func result() -> BSON? {
        if sample ? count < 2 : count < 1 { return .null }
        return .double(Foundation.sqrt(m2 / Double(sample ? count - 1 : count)))
    }
}

/// `$mergeObjects`: null and missing inputs are ignored; later fields win.
final class MergeObjectsAccumulator: AccumulatorState {
    var merged = BSONDocument()
    func add(_ v: BSON?) throws {
        guard let v, !Values.isNullish(v) else { return }
        guard case .document(let d) = v else {
            throw mqlError("$mergeObjects", "$mergeObjects requires object inputs, but input \(Values.describe(v)) is of type \(Values.typeName(v))")
        }
        for element in d.elements { merged[element.key] = element.value }
    }
    func result() -> BSON? { .document(merged) }
    var estimatedBytes: Int { Values.estimatedSize(merged) }
}

/// `$median`/`$percentile`: numeric inputs only; `discrete` and `approximate` pick a sample
/// (rank ⌈n·p⌉−1, as MongoDB's discrete method; for the data sizes here its t-digest gives the
/// same), `continuous` interpolates linearly.
final class PercentileAccumulator: AccumulatorState {
    let percentiles: [Double]
    let continuous: Bool
    let single: Bool
    var values: [Double] = []
    init(percentiles: [Double], continuous: Bool, single: Bool) {
        self.percentiles = percentiles
        self.continuous = continuous
        self.single = single
    }
    func add(_ v: BSON?) {
        guard let v, v.isNumeric, let d = v.numericDouble, !d.isNaN else { return }
        values.append(d)
    }
    func result() -> BSON? {
        if values.isEmpty { return single ? .null : .array(percentiles.map { _ in .null }) }
        let sorted = values.sorted()
        let results = percentiles.map { BSON.double(PercentileAccumulator.percentile(sorted, $0, continuous: continuous)) }
        return single ? results[0] : .array(results)
    }
    var estimatedBytes: Int { 32 + values.count * 8 }

    static func percentile(_ sorted: [Double], _ p: Double, continuous: Bool) -> Double {
        let n = sorted.count
        if !continuous {
            let rank = p >= 1 ? n - 1 : max(0, Int((Double(n) * p).rounded(.up)) - 1)
            return sorted[rank]
        }
        let rank = p * Double(n - 1)
        let lo = Int(rank.rounded(.down)), hi = Int(rank.rounded(.up))
        if lo == hi { return sorted[lo] }
        return (Double(hi) - rank) * sorted[lo] + (rank - Double(lo)) * sorted[hi]
    }
}

/// `$firstN`/`$lastN`/`$minN`/`$maxN`. The argument evaluates to `[n]` or `[n, input]`
/// (input absent when missing); n is read from the first document of the group.
final class NAccumulator: AccumulatorState {
    enum Kind { case first, last, min, max }
    let kind: Kind
    let name: String
    var n: Int?
    var values: [BSON] = []
    var bytes = 32

    init(kind: Kind, name: String) {
        self.kind = kind
        self.name = name
    }

    func add(_ packed: BSON?) throws {
        guard case .array(let parts)? = packed, let nValue = parts.first else { return }
        if n == nil { n = try NAccumulator.validateN(nValue, name) }
        let input: BSON? = parts.count > 1 ? parts[1] : nil
        let limit = n!
        switch kind {
        case .first:
            if values.count < limit { values.append(input ?? .null) }
        case .last:
            values.append(input ?? .null)
            if values.count > limit { values.removeFirst() }
        case .min, .max:
            guard let input, !Values.isNullish(input) else { return }
            // Keep the n best, stable: an earlier equal value stays ahead.
            let position = values.firstIndex { existing in
                let c = BSONOrder.compare(input, existing)
                return kind == .min ? c < 0 : c > 0
            } ?? values.count
            if position < limit {
                values.insert(input, at: position)
                if values.count > limit { values.removeLast() }
            }
        }
        bytes = 32 + values.reduce(0) { $0 + 8 + Values.estimatedSize($1) }
    }

    func result() -> BSON? { .array(values) }
    var estimatedBytes: Int { bytes }

    static func validateN(_ v: BSON, _ name: String) throws -> Int {
        guard v.isNumeric, let i = v.exactInt64 else {
            throw mqlError(name, "value of 'n' must be an integer, found: \(Values.describe(v))")
        }
        guard i > 0 else { throw mqlError(name, "'n' must be greater than 0, found: \(i)") }
        return Int(min(i, Int64(Int32.max)))
    }
}

/// `$top`/`$bottom`/`$topN`/`$bottomN`. The argument evaluates to `[n, [sort key values…], output]`.
final class TopBottomAccumulator: AccumulatorState {
    let sort: SortSpec
    let bottom: Bool
    let single: Bool
    let name: String
    var n: Int?
    var entries: [(key: [BSON?], output: BSON)] = []
    var bytes = 32

    init(sort: SortSpec, bottom: Bool, single: Bool, name: String) {
        self.sort = sort
        self.bottom = bottom
        self.single = single
        self.name = name
    }

    func add(_ packed: BSON?) throws {
        guard case .array(let parts)? = packed, parts.count == 3, case .array(let keyValues) = parts[1] else { return }
        if n == nil { n = single ? 1 : try NAccumulator.validateN(parts[0], name) }
        let key: [BSON?] = keyValues.map { $0 == .undefined ? nil : $0 }
        // Order: top takes the first n in sort order, bottom the last n. Equal keys keep arrival order.
        let position = entries.firstIndex { existing in sort.compareKeys(key, existing.key) < 0 } ?? entries.count
        entries.insert((key, parts[2]), at: position)
        if entries.count > n! {
            if bottom { entries.removeFirst() } else { entries.removeLast() }
        }
        bytes = 32 + entries.reduce(0) { $0 + 16 + Values.estimatedSize($1.output) }
    }

    func result() -> BSON? {
        if single { return entries.first?.output ?? .null }
        return .array(entries.map(\.output))
    }
    var estimatedBytes: Int { bytes }
}
