import FerryBSON
extension MQLDates {
    /// `$dateDiff`: how many `unit` boundaries lie between `start` and `end` on `zone`'s wall
    /// clock (negative when `end` is earlier). Year, quarter, month, week and day compare
    /// calendar positions: Dec 31 → Jan 1 is 1 year. A week boundary is the start of
    /// `startOfWeek`.
    ///
    /// Hour, minute and second count local clock boundaries corrected by the change in UTC offset,
    /// as MongoDB does: when clocks go back the repeated hour's boundaries count once, so the
    /// result equals the absolute boundaries crossed for whole-hour offsets. Millisecond is
    /// `end - start`, saturating at the Int64 bounds (`checkedDiff` reports that as MongoDB does).
    public static func diff(start: Int64, end: Int64, unit: MQLDateUnit, in zone: MQLTimeZone, startOfWeek: MQLWeekday)
        -> Int64
    {
        if unit == .millisecond {
            let (difference, overflow) = end.subtractingReportingOverflow(start)
            return overflow ? (end > start ? .max : .min) : difference
        }
        let startOffset = zone.offsetSeconds(atUTCMillis: start)
        let endOffset = zone.offsetSeconds(atUTCMillis: end)
        let from = MQLLocalTime(utcMillis: start, offsetSeconds: startOffset)
        let to = MQLLocalTime(utcMillis: end, offsetSeconds: endOffset)
        let days = to.days - from.days
        // MongoDB truncates the offset correction toward zero, as Swift's `/` does.
        let offsetChange = Int64(startOffset - endOffset)

        switch unit {
        case .year, .quarter, .month:
            let a = CivilCalendar.date(days: from.days)
            let b = CivilCalendar.date(days: to.days)
            switch unit {
            case .year: return b.year - a.year
            case .quarter: return (b.year - a.year) * 4 + (b.month - 1) / 3 - (a.month - 1) / 3
            default: return (b.year - a.year) * 12 + b.month - a.month
            }
        case .week:
            return (days + startOfWeek.indexInWeek(ofDays: from.days) - startOfWeek.indexInWeek(ofDays: to.days)) / 7
        case .day:
            return days
        case .hour, .minute, .second:
            let hours = days * 24 + to.msOfDay / MQLCivil.msPerHour - from.msOfDay / MQLCivil.msPerHour
            if unit == .hour { return hours + offsetChange / 3600 }
            let minutes = hours * 60 + to.msOfDay / MQLCivil.msPerMinute % 60 - from.msOfDay / MQLCivil.msPerMinute % 60
            if unit == .minute { return minutes + offsetChange / 60 }
            return minutes * 60 + to.msOfDay / MQLCivil.msPerSecond % 60 - from.msOfDay / MQLCivil.msPerSecond % 60
                + offsetChange
        case .millisecond:
            preconditionFailure("handled above")
        }
    }

    /// `diff`, failing with MongoDB's 5166308 "dateDiff overflowed" when a millisecond
    /// difference leaves the Int64 range.
    public static func checkedDiff(
        start: Int64, end: Int64, unit: MQLDateUnit, in zone: MQLTimeZone, startOfWeek: MQLWeekday
    ) throws -> Int64 {
        if unit == .millisecond, end.subtractingReportingOverflow(start).overflow {
            throw MQLDateError(code: 5_166_308, message: "dateDiff overflowed")
        }
        return diff(start: start, end: end, unit: unit, in: zone, startOfWeek: startOfWeek)
    }
}
