import FerryBSON
/// What a `$dateFromString` parse found, before it becomes an instant. Unset fields are nil.
struct MQLParsedDate {
    /// Time zone information written in the string itself.
    enum Zone {
        /// `+05:30`, `GMT-02`, `%Z` minutes: MongoDB calls these a "GMT offset".
        case offset(seconds: Int)
        /// `Z`, `UTC`, `EST`, military letters: "time zone information ('EST')".
        case abbreviation(String, seconds: Int)
    }

    var year: Int64?, month: Int64?, day: Int64?, dayOfYear: Int64?
    var isoYear: Int64?, isoWeek: Int64?, isoDayOfWeek: Int64?
    var hour: Int64?, minute: Int64?, second: Int64?, millisecond: Int64?
    var zone: Zone?

    var hasNaturalDate: Bool { year != nil || month != nil || day != nil || dayOfYear != nil }
    var hasISODate: Bool { isoYear != nil || isoWeek != nil || isoDayOfWeek != nil }

    /// The instant, following MongoDB: a missing time is midnight, a missing date part is an
    /// error, an impossible date or time (Feb 30, 24:00) is an error, and a zone in the string
    /// wins but may not be combined with a non-UTC `timezone` argument.
    func instant(in zone: MQLTimeZone, scanner: MQLDateScanner) throws -> Int64 {
        let end = scanner.bytes.count
        let h = hour ?? 0, mi = minute ?? 0, s = second ?? 0
        guard (0...23).contains(h), (0...59).contains(mi), (0...59).contains(s) else {
            throw scanner.error("The parsed time was invalid", at: end)
        }
        let days: Int64
        if hasISODate {
            guard let isoYear else { throw scanner.error("The parsed date was invalid", at: end) }
            days = MQLCivil.isoWeekOneMonday(isoYear: isoYear) + ((isoWeek ?? 1) - 1) * 7 + (isoDayOfWeek ?? 1) - 1
        } else if let dayOfYear, let year {
            guard dayOfYear >= 1, dayOfYear <= (CivilCalendar.isLeap(year) ? 366 : 365) else {
                throw scanner.error("The parsed date was invalid", at: end)
            }
            days = CivilCalendar.days(year: year, month: 1, day: 1) + dayOfYear - 1
        } else if let year, let month, let day {
            guard (1...12).contains(month), day >= 1, day <= CivilCalendar.daysInMonth(year: year, month: month) else {
                throw scanner.error("The parsed date was invalid", at: end)
            }
            days = CivilCalendar.days(year: year, month: month, day: day)
        } else {
            throw MQLDateError.conversionFailure(
                "an incomplete date/time string has been found, with elements missing: \"\(scanner.text)\"")
        }
        let local = MQLLocalTime(
            days: days,
            msOfDay: h * MQLCivil.msPerHour + mi * MQLCivil.msPerMinute + s * MQLCivil.msPerSecond + (millisecond ?? 0))

        guard let written = self.zone else {
            // Four-digit years keep every instant well inside Int64.
            return zone.utcMillis(fromLocal: local)!
        }
        if !zone.isUTC {
            switch written {
            case .offset:
                throw MQLDateError.conversionFailure(
                    "you cannot pass in a date/time string with GMT offset together with a timezone argument")
            case .abbreviation(let name, _):
                throw MQLDateError.conversionFailure(
                    "you cannot pass in a date/time string with time zone information ('\(name)') together with a "
                        + "timezone argument")
            }
        }
        let offset: Int
        switch written {
        case .offset(let seconds), .abbreviation(_, let seconds): offset = seconds
        }
        return MQLTimeZone(offsetSeconds: offset).utcMillis(fromLocal: local)!
    }
}
