import FerryBSON
/// Every field MongoDB's date-part operators read, for one instant in one zone: `$year`,
/// `$month`, `$dayOfMonth` (`day`), `$hour`, `$minute`, `$second`, `$millisecond`,
/// `$dayOfYear`, `$dayOfWeek`, `$week`, `$isoWeekYear`, `$isoWeek`, `$isoDayOfWeek`, and both
/// shapes of `$dateToParts`.
public struct MQLDateParts: Sendable, Equatable {
    public var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, millisecond: Int
    /// 1...366.
    public var dayOfYear: Int
    /// 1 = Sunday … 7 = Saturday.
    public var dayOfWeek: Int
    /// 0...53: weeks begin on Sunday; days before the year's first Sunday are week 0.
    public var week: Int
    /// ISO 8601: the year owning the week (the year of its Thursday), the week 1...53, and the
    /// day 1 = Monday … 7 = Sunday.
    public var isoWeekYear: Int, isoWeek: Int, isoDayOfWeek: Int

    public init(
        year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, millisecond: Int,
        dayOfYear: Int, dayOfWeek: Int, week: Int, isoWeekYear: Int, isoWeek: Int, isoDayOfWeek: Int
    ) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
        self.millisecond = millisecond
        self.dayOfYear = dayOfYear
        self.dayOfWeek = dayOfWeek
        self.week = week
        self.isoWeekYear = isoWeekYear
        self.isoWeek = isoWeek
        self.isoDayOfWeek = isoDayOfWeek
    }
}

extension MQLDates {
    /// The parts of `ms` on the wall clock of `zone`.
    public static func parts(_ ms: Int64, in zone: MQLTimeZone) -> MQLDateParts {
        parts(local: zone.local(ms))
    }

    static func parts(local: MQLLocalTime) -> MQLDateParts {
        let days = local.days
        let (year, month, day) = CivilCalendar.date(days: days)
        let dayOfYear = days - CivilCalendar.days(year: year, month: 1, day: 1) + 1
        let dayOfWeek = MQLCivil.weekday(days: days)
        let iso = MQLCivil.isoWeek(days: days)
        let ms = local.msOfDay
        return MQLDateParts(
            year: Int(year), month: Int(month), day: Int(day),
            hour: Int(ms / MQLCivil.msPerHour),
            minute: Int(ms / MQLCivil.msPerMinute % 60),
            second: Int(ms / MQLCivil.msPerSecond % 60),
            millisecond: Int(ms % 1000),
            dayOfYear: Int(dayOfYear),
            dayOfWeek: Int(dayOfWeek),
            // MongoDB: the week of the Sunday on or before the day, counting the first Sunday's as 1.
            week: Int((dayOfYear - dayOfWeek + 7) / 7),
            isoWeekYear: Int(iso.isoYear), isoWeek: Int(iso.week),
            isoDayOfWeek: Int(MQLCivil.isoWeekday(days: days)))
    }
}
