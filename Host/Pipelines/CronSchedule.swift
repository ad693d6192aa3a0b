import Foundation

/// A 5-field cron schedule in UTC with Vixie cron's semantics: `minute hour day-of-month month
/// day-of-week`; each field a list of `*`, `N`, `A-B`, with optional `/STEP`; month names JAN–DEC
/// and weekday names SUN–SAT (either case); weekday 7 is Sunday too. When day-of-month and
/// day-of-week are both restricted (neither field starts with `*`), a day matching either one
/// fires, as in Vixie cron (`0 0 13 * FRI` is every 13th and every Friday). The macros `@yearly`
/// (`@annually`), `@monthly`, `@weekly`, `@daily` (`@midnight`) and `@hourly` are accepted.
///
/// Ticks are whole minutes, in milliseconds since the Unix epoch.
public struct CronSchedule: Sendable, Hashable, CustomStringConvertible {
    public let expression: String
    var minutes: UInt64 = 0  // bit n: minute n
    var hours: UInt32 = 0
    var daysOfMonth: UInt32 = 0  // bit n: day n (1...31)
    var months: UInt16 = 0  // bit n: month n (1...12)
    var daysOfWeek: UInt8 = 0  // bit n: weekday n (0 = Sunday)
    var dayOfMonthStar = false
    var dayOfWeekStar = false

    public var description: String { expression }

    static let macros = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]

    public init(_ expression: String) throws(CronError) {
        self.expression = expression
        let trimmed = expression.trimmingCharacters(in: .whitespaces)
        let text = Self.macros[trimmed.lowercased()] ?? trimmed
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else {
            throw CronError(
                expression: expression, field: nil,
                reason:
                    "a schedule has 5 fields (minute hour day-of-month month day-of-week), found \(fields.count); for example \"0 * * * *\" runs hourly")
        }
        minutes = UInt64(try CronField.minute.parse(fields[0], in: expression))
        hours = UInt32(try CronField.hour.parse(fields[1], in: expression))
        daysOfMonth = UInt32(try CronField.dayOfMonth.parse(fields[2], in: expression))
        months = UInt16(try CronField.month.parse(fields[3], in: expression))
        var weekdays = try CronField.dayOfWeek.parse(fields[4], in: expression)
        if weekdays & (1 << 7) != 0 { weekdays = (weekdays | 1) & ~(1 << 7) }  // 7 is Sunday
        daysOfWeek = UInt8(weekdays)
        dayOfMonthStar = fields[2].hasPrefix("*")
        dayOfWeekStar = fields[4].hasPrefix("*")
        if !dayOfMonthStar, dayOfWeekStar {
            // Only day-of-month restricts days: it must exist in some allowed month (Feb 29 counts).
            let allowedMonths = months
            let allowedDays = daysOfMonth
            let possible = (1...12).contains { month in
                allowedMonths & (1 << month) != 0
                    && (1...CivilDate.daysIn(month: month, year: 2000)).contains { allowedDays & (1 << $0) != 0 }
            }
            guard possible else {
                throw CronError(
                    expression: expression, field: .dayOfMonth,
                    reason: "no allowed month has any of these days (like February 30), so the schedule would never fire")
            }
        }
    }

    /// True if `ms` is a tick: a whole minute the schedule fires at.
    public func fires(at ms: Int64) -> Bool {
        guard Millis.floorDiv(ms, Millis.minute) * Millis.minute == ms else { return false }
        let day = Millis.floorDiv(ms, Millis.day)
        let minuteOfDay = Int((ms - day * Millis.day) / Millis.minute)
        return dayMatches(day) && hours & (1 << UInt32(minuteOfDay / 60)) != 0 && minutes & (1 << UInt64(minuteOfDay % 60)) != 0
    }

    /// The first tick strictly after `ms`, or nil if none within ~400 years.
    public func next(after ms: Int64) -> Int64? {
        let start = (Millis.floorDiv(ms, Millis.minute) + 1) * Millis.minute
        var day = Millis.floorDiv(start, Millis.day)
        var fromMinute = Int((start - day * Millis.day) / Millis.minute)
        for _ in 0..<200_000 {
            let date = CivilDate(dayNumber: day)
            if months & (1 << UInt16(date.month)) == 0 {
                // Jump to the first of the next month.
                let nextMonth = date.month == 12 ? CivilDate(year: date.year + 1, month: 1, day: 1) : CivilDate(year: date.year, month: date.month + 1, day: 1)
                day = nextMonth.dayNumber
                fromMinute = 0
                continue
            }
            if dayMatches(day, date), let m = firstMinute(atOrAfter: fromMinute) {
                return day * Millis.day + Int64(m) * Millis.minute
            }
            day += 1
            fromMinute = 0
        }
        return nil
    }

    /// The last tick strictly before `ms`, or nil if none within ~400 years.
    public func previous(before ms: Int64) -> Int64? {
        let start = (Millis.floorDiv(ms - 1, Millis.minute)) * Millis.minute
        var day = Millis.floorDiv(start, Millis.day)
        var toMinute = Int((start - day * Millis.day) / Millis.minute)
        for _ in 0..<200_000 {
            let date = CivilDate(dayNumber: day)
            if months & (1 << UInt16(date.month)) == 0 {
                // Jump to the last day of the previous month.
                day = CivilDate(year: date.year, month: date.month, day: 1).dayNumber - 1
                toMinute = 1439
                continue
            }
            if dayMatches(day, date), let m = lastMinute(atOrBefore: toMinute) {
                return day * Millis.day + Int64(m) * Millis.minute
            }
            day -= 1
            toMinute = 1439
        }
        return nil
    }

    /// The last tick at or before `ms`.
    public func previous(atOrBefore ms: Int64) -> Int64? { previous(before: ms + 1) }

    private func dayMatches(_ day: Int64, _ date: CivilDate? = nil) -> Bool {
        let date = date ?? CivilDate(dayNumber: day)
        guard months & (1 << UInt16(date.month)) != 0 else { return false }
        let dom = daysOfMonth & (1 << UInt32(date.day)) != 0
        let dow = daysOfWeek & (1 << UInt8(CivilDate.weekday(dayNumber: day))) != 0
        return (dayOfMonthStar || dayOfWeekStar) ? (dom && dow) : (dom || dow)
    }

    private func firstMinute(atOrAfter minuteOfDay: Int) -> Int? {
        var m = minuteOfDay
        while m < 1440 {
            let hour = m / 60
            if hours & (1 << UInt32(hour)) == 0 {
                m = (hour + 1) * 60
                continue
            }
            if minutes & (1 << UInt64(m % 60)) != 0 { return m }
            m += 1
        }
        return nil
    }

    private func lastMinute(atOrBefore minuteOfDay: Int) -> Int? {
        var m = minuteOfDay
        while m >= 0 {
            let hour = m / 60
            if hours & (1 << UInt32(hour)) == 0 {
                m = hour * 60 - 1
                continue
            }
            if minutes & (1 << UInt64(m % 60)) != 0 { return m }
            m -= 1
        }
        return nil
    }
}

/// A schedule that cannot be used: which field, and why.
public struct CronError: Error, Sendable, Hashable, CustomStringConvertible {
    public var expression: String
    public var field: CronField?
    public var reason: String

    public var description: String {
        if let field {
            "invalid schedule \(expression.debugDescription): field \(field.position) (\(field.name)): \(reason)"
        } else {
            "invalid schedule \(expression.debugDescription): \(reason)"
        }
    }
}

/// One of the five fields, with its range and names.
public enum CronField: Int, Sendable, Hashable {
    case minute = 1, hour, dayOfMonth, month, dayOfWeek

    public var position: Int { rawValue }

    public var name: String {
        switch self {
        case .minute: "minute"
        case .hour: "hour"
        case .dayOfMonth: "day of month"
        case .month: "month"
        case .dayOfWeek: "day of week"
        }
    }

    var range: ClosedRange<Int> {
        switch self {
        case .minute: 0...59
        case .hour: 0...23
        case .dayOfMonth: 1...31
        case .month: 1...12
        case .dayOfWeek: 0...7
        }
    }

    var names: [String: Int] {
        switch self {
        case .month:
            ["JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12]
        case .dayOfWeek: ["SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6]
        default: [:]
        }
    }

    /// The field's values as a bit set (bit n = value n).
    func parse(_ text: String, in expression: String) throws(CronError) -> UInt64 {
        func fail(_ reason: String) -> CronError { CronError(expression: expression, field: self, reason: reason) }
        var bits: UInt64 = 0
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !item.isEmpty else { throw fail("\(text.debugDescription) has an empty list item") }
            let parts = item.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw fail("\(String(item).debugDescription) has more than one /") }
            var step = 1
            if parts.count == 2 {
                guard let s = Int(parts[1]), s > 0 else {
                    throw fail("the step in \(String(item).debugDescription) must be a positive whole number")
                }
                step = s
            }
            let base = parts[0]
            let low: Int
            let high: Int
            if base == "*" {
                low = range.lowerBound
                high = self == .dayOfWeek ? 6 : range.upperBound
            } else {
                let bounds = base.split(separator: "-", omittingEmptySubsequences: false)
                guard bounds.count <= 2 else { throw fail("\(String(base).debugDescription) is not a value or a range A-B") }
                low = try value(bounds[0], fail)
                // "A/STEP" means from A to the end of the range, as in cronie.
                high = bounds.count == 2 ? try value(bounds[1], fail) : (parts.count == 2 ? range.upperBound : low)
                guard low <= high else {
                    throw fail("the range \(String(base).debugDescription) goes backwards; write it low-high")
                }
            }
            var v = low
            while v <= high {
                bits |= 1 << UInt64(v)
                v += step
            }
        }
        return bits
    }

    private func value(_ text: Substring, _ fail: (String) -> CronError) throws(CronError) -> Int {
        if let n = Int(text) {
            guard range.contains(n) else {
                throw fail("\(n) is out of range \(range.lowerBound)–\(range.upperBound)")
            }
            return n
        }
        if let n = names[text.uppercased()] { return n }
        if names.isEmpty {
            throw fail("\(String(text).debugDescription) is not a number")
        }
        throw fail(
            "\(String(text).debugDescription) is not a number or a name (\(names.sorted { $0.value < $1.value }.map(\.key).joined(separator: " ")))")
    }
}
