import FerryBSON
/// The `unit` of `$dateTrunc`, `$dateAdd`, `$dateSubtract` and `$dateDiff`. Raw values are the
/// names MongoDB accepts (exact, lower case), so `MQLDateUnit(rawValue:)` parses them.
public enum MQLDateUnit: String, Sendable, CaseIterable {
    case year, quarter, month, week, day, hour, minute, second, millisecond

    /// Milliseconds in one unit for the units of fixed length (hour and below).
    var fixedMillis: Int64? {
        switch self {
        case .hour: MQLCivil.msPerHour
        case .minute: MQLCivil.msPerMinute
        case .second: MQLCivil.msPerSecond
        case .millisecond: 1
        default: nil
        }
    }
}

/// A day of the week, numbered as `$dayOfWeek` numbers them (1 = Sunday … 7 = Saturday).
public enum MQLWeekday: Int, Sendable, CaseIterable {
    case sunday = 1, monday, tuesday, wednesday, thursday, friday, saturday

    /// Parses what `$dateTrunc`/`$dateDiff` accept for `startOfWeek`: the full English name or
    /// its three-letter abbreviation, case-insensitively ("Monday", "mon", "MON").
    public init?(name: String) {
        switch name.lowercased() {
        case "sunday", "sun": self = .sunday
        case "monday", "mon": self = .monday
        case "tuesday", "tue": self = .tuesday
        case "wednesday", "wed": self = .wednesday
        case "thursday", "thu": self = .thursday
        case "friday", "fri": self = .friday
        case "saturday", "sat": self = .saturday
        default: return nil
        }
    }

    /// ISO 8601 number of the day: 1 = Monday … 7 = Sunday.
    var isoNumber: Int64 { self == .sunday ? 7 : Int64(rawValue - 1) }

    /// 0 for `self`, 1 for the day after, … 6, when weeks start on `self`.
    @inline(__always)
    func indexInWeek(ofDays days: Int64) -> Int64 {
        CivilCalendar.floorMod(MQLCivil.isoWeekday(days: days) - isoNumber, 7)
    }
}
