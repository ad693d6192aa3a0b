import FerryBSON
extension MQLDates {
    /// `$dateAdd` (and `$dateSubtract` with `-amount`). Returns nil where MongoDB fails: an
    /// amount too large for the unit, or a result outside the Int64 range. `checkedAdd` says which.
    ///
    /// - hour, minute, second, millisecond add absolute time, so in an Olson zone 1 hour is always
    ///   3,600,000 ms even across a DST change;
    /// - day and week move the wall clock in `zone` and keep its time of day across DST (a time
    ///   that lands in a DST gap or overlap resolves by `MQLTimeZone`'s rule);
    /// - month, quarter and year move the wall clock too, clamping the day to the target month's
    ///   last day (2024-01-31 + 1 month = 2024-02-29).
    @inline(__always)
    public static func add(_ ms: Int64, unit: MQLDateUnit, amount: Int64, in zone: MQLTimeZone) -> Int64? {
        try? addCore(ms, unit: unit, amount: amount, zone: zone)
    }

    /// `add`, failing with MongoDB's errors: 5976500 for an out-of-range amount, 5166406
    /// "dateAdd overflowed".
    public static func checkedAdd(_ ms: Int64, unit: MQLDateUnit, amount: Int64, in zone: MQLTimeZone) throws -> Int64 {
        try addCore(ms, unit: unit, amount: amount, zone: zone)
    }

    static func addCore(_ ms: Int64, unit: MQLDateUnit, amount: Int64, zone: MQLTimeZone) throws(MQLDateError) -> Int64 {
        if unit != .millisecond {
            guard let limit = maxAddAmount(unit), -limit < amount, amount < limit else {
                throw MQLDateError(
                    code: 5_976_500, message: "invalid dateAdd 'amount' parameter value: \(amount) \(unit.rawValue)")
            }
        }
        let result: Int64?
        switch unit {
        case .millisecond, .second, .minute, .hour:
            let (delta, o1) = amount.multipliedReportingOverflow(by: unit.fixedMillis!)
            let (sum, o2) = ms.addingReportingOverflow(delta)
            result = o1 || o2 ? nil : sum
        case .day, .week:
            var local = zone.local(ms)
            local.days += amount * (unit == .week ? 7 : 1)
            result = zone.utcMillis(fromLocal: local)
        case .month, .quarter, .year:
            var local = zone.local(ms)
            let (year, month, day) = CivilCalendar.date(days: local.days)
            let months = amount * (unit == .month ? 1 : unit == .quarter ? 3 : 12)
            let target = MQLCivil.addMonths(year: year, month: month, months)
            let lastDay = CivilCalendar.daysInMonth(year: target.year, month: target.month)
            local.days = CivilCalendar.days(year: target.year, month: target.month, day: min(day, lastDay))
            result = zone.utcMillis(fromLocal: local)
        }
        guard let result else { throw MQLDateError(code: 5_166_406, message: "dateAdd overflowed") }
        return result
    }

    /// MongoDB's bound on |amount| per unit: roughly what fits the date range, so the arithmetic
    /// below cannot overflow before the final range check.
    private static func maxAddAmount(_ unit: MQLDateUnit) -> Int64? {
        let maxDays = Int64(UInt64.max / UInt64(MQLCivil.msPerDay) + 1)
        let maxYears = maxDays / 365 + 1
        switch unit {
        case .year: return maxYears
        case .quarter: return maxYears * 4
        case .month: return maxYears * 12
        case .week: return maxDays / 7
        case .day: return maxDays
        case .hour: return maxDays * 24
        case .minute: return maxDays * 24 * 60
        case .second: return maxDays * 24 * 60 * 60
        case .millisecond: return nil
        }
    }
}
