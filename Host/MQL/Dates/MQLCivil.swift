/// Proleptic-Gregorian calendar arithmetic on day numbers (days since 1970-01-01), using
/// Howard Hinnant's `days_from_civil` / `civil_from_days`. Pure integer math: no Foundation,
/// no allocation, exact for every day a BSON datetime (Int64 milliseconds) can name.
enum MQLCivil {
    static let msPerSecond: Int64 = 1_000
    static let msPerMinute: Int64 = 60_000
    static let msPerHour: Int64 = 3_600_000
    static let msPerDay: Int64 = 86_400_000

    /// Division rounding toward negative infinity (Swift's `/` truncates toward zero), so dates
    /// before 1970 land in the right day, second, and bin.
    @inline(__always)
    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    /// The non-negative remainder matching `floorDiv` (for positive `b`).
    @inline(__always)
    static func floorMod(_ a: Int64, _ b: Int64) -> Int64 {
        let r = a % b
        return (r != 0 && (r < 0) != (b < 0)) ? r + b : r
    }

    /// Day number of year-month-day; `month` must be 1...12, `day` may run past the month (it
    /// simply counts on), which is how callers carry overflowing days.
    @inline(__always)
    static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400  // [0, 399]
        let mp = month > 2 ? month - 3 : month + 9  // March-based month [0, 11]
        let doy = (153 * mp + 2) / 5 + day - 1  // [0, 365]
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy  // [0, 146096]
        return era * 146_097 + doe - 719_468
    }

    /// The civil date of a day number.
    @inline(__always)
    static func date(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097  // [0, 146096]
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365  // [0, 399]
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)  // [0, 365]
        let mp = (5 * doy + 2) / 153  // [0, 11]
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (month <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, month, day)
    }

    static func isLeap(_ year: Int64) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// 1 = Sunday … 7 = Saturday (1970-01-01 was a Thursday).
    @inline(__always)
    static func weekday(days: Int64) -> Int64 { floorMod(days + 4, 7) + 1 }

    /// ISO 8601: 1 = Monday … 7 = Sunday.
    @inline(__always)
    static func isoWeekday(days: Int64) -> Int64 { floorMod(days + 3, 7) + 1 }

    /// Day number of the Monday that starts ISO week 1 of `isoYear` (the week holding January 4).
    static func isoWeekOneMonday(isoYear: Int64) -> Int64 {
        let jan4 = days(year: isoYear, month: 1, day: 4)
        return jan4 - (isoWeekday(days: jan4) - 1)
    }

    /// ISO week-numbering year and week of a day: the week belongs to the year of its Thursday.
    static func isoWeek(days: Int64) -> (isoYear: Int64, week: Int64) {
        let thursday = days - isoWeekday(days: days) + 4
        let isoYear = date(days: thursday).year
        let week = (thursday - self.days(year: isoYear, month: 1, day: 1)) / 7 + 1
        return (isoYear, week)
    }

    /// Adds `months` to a (year, month) pair, carrying into years in either direction.
    static func addMonths(year: Int64, month: Int64, _ months: Int64) -> (year: Int64, month: Int64) {
        let zeroBased = month - 1 + months
        return (year + floorDiv(zeroBased, 12), floorMod(zeroBased, 12) + 1)
    }
}

/// A wall-clock instant in some zone, split so that no step can overflow Int64 even at the
/// extremes of the BSON range: the local day number and the milliseconds into that day.
struct MQLLocalTime: Equatable {
    var days: Int64
    var msOfDay: Int64  // [0, 86_400_000)

    /// Splits UTC milliseconds and shifts by `offsetSeconds` without forming `ms + offset`.
    @inline(__always)
    init(utcMillis ms: Int64, offsetSeconds: Int) {
        var days = MQLCivil.floorDiv(ms, MQLCivil.msPerDay)
        var msOfDay = MQLCivil.floorMod(ms, MQLCivil.msPerDay) + Int64(offsetSeconds) * MQLCivil.msPerSecond
        if msOfDay < 0 {
            msOfDay += MQLCivil.msPerDay
            days -= 1
        } else if msOfDay >= MQLCivil.msPerDay {
            msOfDay -= MQLCivil.msPerDay
            days += 1
        }
        self.days = days
        self.msOfDay = msOfDay
    }

    init(days: Int64, msOfDay: Int64) {
        self.days = days
        self.msOfDay = msOfDay
    }

    /// Local milliseconds since the local epoch, or nil when that leaves Int64.
    var millis: Int64? {
        let (dayMs, o1) = days.multipliedReportingOverflow(by: MQLCivil.msPerDay)
        let (total, o2) = dayMs.addingReportingOverflow(msOfDay)
        return o1 || o2 ? nil : total
    }
}
