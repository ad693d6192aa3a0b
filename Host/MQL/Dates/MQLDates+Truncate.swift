import FerryBSON
extension MQLDates {
    /// `$dateTrunc`: the start of the bin holding `ms`. Bins are `binSize` units long and aligned
    /// to 2000-01-01T00:00:00.000 in `zone` (for weeks, to the first `startOfWeek` on or after it).
    ///
    /// As in MongoDB, hour and smaller units are fixed spans of absolute time counted from that
    /// reference instant, so in an Olson zone they ignore later DST changes; day and larger units
    /// count calendar days/months in the zone's wall clock and return local midnight, resolved by
    /// `MQLTimeZone`'s DST rule. `startOfWeek` only matters for `.week`.
    ///
    /// UTC and fixed offsets never touch Foundation; in an Olson zone units below a day need no
    /// offset lookup (the reference instant is cached per zone), day and larger need three or so. `binSize` below 1 counts as 1 and a result below the Int64
    /// range saturates at `Int64.min`; `checkedTruncate` reports both as MongoDB does.
    @inline(__always)
    public static func truncate(
        _ ms: Int64, unit: MQLDateUnit, binSize: Int64, in zone: MQLTimeZone, startOfWeek: MQLWeekday
    ) -> Int64 {
        (try? truncateCore(ms, unit: unit, binSize: max(binSize, 1), zone: zone, startOfWeek: startOfWeek)) ?? .min
    }

    /// `truncate`, failing as MongoDB fails: binSize < 1 (5439005), binSize over 100 billion for
    /// day and larger units (5439006), or a result outside the Int64 range ("dateTrunc overflowed").
    public static func checkedTruncate(
        _ ms: Int64, unit: MQLDateUnit, binSize: Int64, in zone: MQLTimeZone, startOfWeek: MQLWeekday
    ) throws -> Int64 {
        try truncateCore(ms, unit: unit, binSize: binSize, zone: zone, startOfWeek: startOfWeek)
    }

    @inline(__always)
    static func truncateCore(
        _ ms: Int64, unit: MQLDateUnit, binSize: Int64, zone: MQLTimeZone, startOfWeek: MQLWeekday
    ) throws(MQLDateError) -> Int64 {
        guard binSize > 0 else { throw MQLDateError(code: 5_439_005, message: "expected binSize > 0") }
        if let unitMillis = unit.fixedMillis {
            let (binMillis, o1) = binSize.multipliedReportingOverflow(by: unitMillis)
            let (sinceReference, o2) = ms.subtractingReportingOverflow(zone.truncationReferenceMillis)
            let (result, o3) = ms.subtractingReportingOverflow(CivilCalendar.floorMod(sinceReference, binMillis))
            guard !(o1 || o2 || o3) else { throw truncateOverflow }
            return result
        }
        guard binSize <= 100_000_000_000 else {
            throw MQLDateError(code: 5_439_006, message: "dateTrunc unsupported binSize value")
        }
        return try truncateCalendar(ms, unit: unit, binSize: binSize, zone: zone, startOfWeek: startOfWeek)
    }

    /// Day and larger units: count whole units from the reference date in local time, round the
    /// count down to a multiple of `binSize`, and return that bin's first local midnight.
    private static func truncateCalendar(
        _ ms: Int64, unit: MQLDateUnit, binSize: Int64, zone: MQLTimeZone, startOfWeek: MQLWeekday
    ) throws(MQLDateError) -> Int64 {
        let today = zone.local(ms).days
        let reference = CivilCalendar.days(year: 2000, month: 1, day: 1)
        let startDay: Int64
        switch unit {
        case .day:
            startDay = reference + floorToBin(today - reference, binSize)
        case .week:
            // The first startOfWeek on or after 2000-01-01, as MongoDB picks it.
            let firstWeek = reference + CivilCalendar.floorMod(7 - startOfWeek.indexInWeek(ofDays: reference), 7)
            startDay = firstWeek + floorToBin(CivilCalendar.floorDiv(today - firstWeek, 7), binSize) * 7
        case .month, .quarter, .year:
            let (year, month, _) = CivilCalendar.date(days: today)
            let monthsPerUnit: Int64 = unit == .month ? 1 : unit == .quarter ? 3 : 12
            let units = CivilCalendar.floorDiv((year - 2000) * 12 + month - 1, monthsPerUnit)
            let start = MQLCivil.addMonths(year: 2000, month: 1, floorToBin(units, binSize) * monthsPerUnit)
            startDay = CivilCalendar.days(year: start.year, month: start.month, day: 1)
        default:
            preconditionFailure("fixed-length units are handled by truncateCore")
        }
        guard let result = zone.utcMillis(fromLocal: MQLLocalTime(days: startDay, msOfDay: 0)) else {
            throw truncateOverflow
        }
        return result
    }

    @inline(__always)
    private static func floorToBin(_ count: Int64, _ binSize: Int64) -> Int64 {
        count - CivilCalendar.floorMod(count, binSize)
    }

    private static var truncateOverflow: MQLDateError { MQLDateError(code: 5_439_000, message: "dateTrunc overflowed") }
}
