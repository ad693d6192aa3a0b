import FerryBSON

/// A UTC calendar date with `Int` month and day, as cron fields use them; the arithmetic is
/// `CivilCalendar`'s.
struct CivilDate: Hashable {
    var year: Int64
    var month: Int  // 1...12
    var day: Int  // 1...31

    init(year: Int64, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    init(dayNumber: Int64) {
        let date = CivilCalendar.date(days: dayNumber)
        self.init(year: date.year, month: Int(date.month), day: Int(date.day))
    }

    var dayNumber: Int64 { CivilCalendar.days(year: year, month: Int64(month), day: Int64(day)) }

    /// 0 = Sunday … 6 = Saturday, as cron counts.
    static func weekday(dayNumber: Int64) -> Int { Int(CivilCalendar.weekday(days: dayNumber)) }

    static func daysIn(month: Int, year: Int64) -> Int { Int(CivilCalendar.daysInMonth(year: year, month: Int64(month))) }
}

/// Milliseconds per minute and day, and floor division that is correct before 1970 too.
enum Millis {
    static let minute: Int64 = 60_000
    static let day: Int64 = 86_400_000

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { CivilCalendar.floorDiv(a, b) }
}
