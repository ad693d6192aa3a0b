import Foundation

/// One Olson zone, read through Foundation's `TimeZone` (ICU's tz data), made once per name and
/// shared (see `MQLZoneCatalog`). Immutable after init, hence `Sendable`.
final class MQLOlsonZone: Sendable {
    let name: String
    private let zone: TimeZone
    /// UTC millis of 2000-01-01T00:00 local, `$dateTrunc`'s reference point, computed once.
    let truncationReferenceMillis: Int64

    /// ICU is not asked about instants beyond ±100,000 years; rules there repeat anyway, and
    /// BSON's ±292 million years would be outside what ICU's calendar math is meant for.
    private static let lookupLimitMillis: Int64 = 3_155_760_000_000_000

    init(name: String, zone: TimeZone) {
        self.name = name
        self.zone = zone
        let referenceOffset = zone.secondsFromGMT(
            for: Date(timeIntervalSince1970: Double(MQLDates.referenceUTCMillis) / 1000))
        truncationReferenceMillis = MQLDates.referenceUTCMillis - Int64(referenceOffset) * MQLCivil.msPerSecond
    }

    @inline(__always)
    func offsetSeconds(atUTCMillis ms: Int64) -> Int {
        let clamped = min(max(ms, -Self.lookupLimitMillis), Self.lookupLimitMillis)
        return zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(clamped) / 1000))
    }

    /// Local → UTC by the "compatible" rule (see `MQLTimeZone`). Offsets a day either side of the
    /// wall time read as UTC bracket every instant it can name (offsets stay within ±1 day), so
    /// when they agree there is no transition nearby and one subtraction is exact.
    func utcMillis(fromLocalMillis local: Int64) -> Int64? {
        let dayBefore = local > .min + MQLCivil.msPerDay ? local - MQLCivil.msPerDay : .min
        let dayAfter = local < .max - MQLCivil.msPerDay ? local + MQLCivil.msPerDay : .max
        let before = offsetSeconds(atUTCMillis: dayBefore)
        let after = offsetSeconds(atUTCMillis: dayAfter)
        if before == after { return MQLTimeZone.subtract(offset: before, from: local) }

        let withBefore = MQLTimeZone.subtract(offset: before, from: local)
        let withAfter = MQLTimeZone.subtract(offset: after, from: local)
        let beforeHolds = withBefore.map { offsetSeconds(atUTCMillis: $0) == before } ?? false
        let afterHolds = withAfter.map { offsetSeconds(atUTCMillis: $0) == after } ?? false
        switch (beforeHolds, afterHolds) {
        case (true, true): return min(withBefore!, withAfter!)  // overlap: the earlier instant
        case (false, true): return withAfter
        default: return withBefore  // unique, or a gap: read with the offset before the gap
        }
    }
}
