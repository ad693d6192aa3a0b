import FerryBSON

/// MongoDB's calendar notions on top of `CivilCalendar`'s day numbers: 1-based weekdays, ISO
/// weeks, month arithmetic.
enum MQLCivil {
    static let msPerSecond: Int64 = 1_000
    static let msPerMinute: Int64 = 60_000
    static let msPerHour: Int64 = 3_600_000
    static let msPerDay: Int64 = 86_400_000

    /// 1 = Sunday … 7 = Saturday (1970-01-01 was a Thursday).
    @inline(__always)
    static func weekday(days: Int64) -> Int64 { CivilCalendar.floorMod(days + 4, 7) + 1 }

    /// ISO 8601: 1 = Monday … 7 = Sunday.
    @inline(__always)
    static func isoWeekday(days: Int64) -> Int64 { CivilCalendar.floorMod(days + 3, 7) + 1 }

    /// Day number of the Monday that starts ISO week 1 of `isoYear` (the week holding January 4).
    static func isoWeekOneMonday(isoYear: Int64) -> Int64 {
        let jan4 = CivilCalendar.days(year: isoYear, month: 1, day: 4)
        return jan4 - (isoWeekday(days: jan4) - 1)
    }

    /// ISO week-numbering year and week of a day: the week belongs to the year of its Thursday.
    static func isoWeek(days: Int64) -> (isoYear: Int64, week: Int64) {
        let thursday = days - isoWeekday(days: days) + 4
        let isoYear = CivilCalendar.date(days: thursday).year
        let week = (thursday - CivilCalendar.days(year: isoYear, month: 1, day: 1)) / 7 + 1
        return (isoYear, week)
    }

    /// Adds `months` to a (year, month) pair, carrying into years in either direction.
    static func addMonths(year: Int64, month: Int64, _ months: Int64) -> (year: Int64, month: Int64) {
        let zeroBased = month - 1 + months
        return (year + CivilCalendar.floorDiv(zeroBased, 12), CivilCalendar.floorMod(zeroBased, 12) + 1)
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
        var days = CivilCalendar.floorDiv(ms, MQLCivil.msPerDay)
        var msOfDay = CivilCalendar.floorMod(ms, MQLCivil.msPerDay) + Int64(offsetSeconds) * MQLCivil.msPerSecond
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
