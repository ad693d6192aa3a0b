/// RFC 3339 date-times for relaxed Extended JSON `$date`, without Foundation (the calendar is
/// `CivilCalendar`).
public enum ISODate {
    static let millisecondsPerDay: Int64 = 86_400_000

    /// "YYYY-MM-DDTHH:MM:SS[.mmm]Z" for milliseconds since the epoch: how BSON dates read in
    /// messages and listings, the same text relaxed Extended JSON writes.
    public static func string(_ milliseconds: Int64) -> String {
        string(milliseconds, alwaysMilliseconds: false)
    }

    /// With `alwaysMilliseconds` the fraction is always three digits, so texts of the same year
    /// width sort in time order (capture file names, MQL's `$toString`).
    public static func string(_ milliseconds: Int64, alwaysMilliseconds: Bool) -> String {
        var out = ByteWriter(capacity: 32)
        format(milliseconds, alwaysMilliseconds: alwaysMilliseconds, to: &out)
        return String(decoding: out.bytes, as: UTF8.self)
    }

    /// Relaxed Extended JSON writes a date as a string only for years 1970 through 9999.
    static let relaxedRange: ClosedRange<Int64> = 0...253_402_300_799_999

    /// "YYYY-MM-DDTHH:MM:SS[.mmm]Z"; the milliseconds appear only when non-zero unless
    /// `alwaysMilliseconds`. A year before 1 BC is written with a minus sign, one after 9999 with
    /// all its digits.
    static func format(_ milliseconds: Int64, alwaysMilliseconds: Bool = false, to out: inout ByteWriter) {
        let days = milliseconds.floorDivided(by: millisecondsPerDay)
        let msOfDay = milliseconds - days * millisecondsPerDay
        let (year, month, day) = CivilCalendar.date(days: days)
        if year < 0 { out.byte(UInt8(ascii: "-")) }
        appendDigits(year.magnitude, width: 4, to: &out)
        out.byte(UInt8(ascii: "-"))
        appendDigits(month, width: 2, to: &out)
        out.byte(UInt8(ascii: "-"))
        appendDigits(day, width: 2, to: &out)
        out.byte(UInt8(ascii: "T"))
        appendDigits(msOfDay / 3_600_000, width: 2, to: &out)
        out.byte(UInt8(ascii: ":"))
        appendDigits(msOfDay / 60_000 % 60, width: 2, to: &out)
        out.byte(UInt8(ascii: ":"))
        appendDigits(msOfDay / 1000 % 60, width: 2, to: &out)
        if alwaysMilliseconds || msOfDay % 1000 != 0 {
            out.byte(UInt8(ascii: "."))
            appendDigits(msOfDay % 1000, width: 3, to: &out)
        }
        out.byte(UInt8(ascii: "Z"))
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM|±HHMM)`. Fraction digits beyond
    /// milliseconds are truncated (BSON dates hold milliseconds). Returns why on failure.
    public static func parse(_ text: String) -> Result<Int64, BSONError> {
        let bytes = Array(text.utf8)
        var index = 0
        func failure(_ reason: String) -> Result<Int64, BSONError> {
            .failure(BSONError("invalid $date string \(text.debugDescription): \(reason); expected YYYY-MM-DDTHH:MM:SS[.mmm]Z or an offset like +01:00"))
        }
        func number(_ width: Int) -> Int64? {
            guard index + width <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[index..<index + width] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            index += width
            return value
        }
        func expect(_ characters: String) -> Bool {
            guard index < bytes.count, characters.utf8.contains(bytes[index]) else { return false }
            index += 1
            return true
        }

        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2) else {
            return failure("bad date")
        }
        guard (1...12).contains(month), (1...CivilCalendar.daysInMonth(year: year, month: month)).contains(day) else {
            return failure("no such day")
        }
        guard expect("Tt"), let hour = number(2), expect(":"), let minute = number(2), expect(":"), let second = number(2)
        else { return failure("bad time") }
        guard hour < 24, minute < 60, second < 60 else { return failure("time out of range") }
        var milliseconds: Int64 = 0
        if expect(".") {
            var digits = 0
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
                if digits < 3 { milliseconds = milliseconds * 10 + Int64(bytes[index] - UInt8(ascii: "0")) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return failure("no digits after the decimal point") }
            for _ in digits..<max(digits, 3) { milliseconds *= 10 }
        }
        var offsetMinutes: Int64 = 0
        if !expect("Zz") {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") else {
                return failure("missing time zone")
            }
            let sign: Int64 = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            guard let offsetHours = number(2) else { return failure("bad time zone offset") }
            _ = expect(":")
            guard let offsetMins = number(2), offsetHours < 24, offsetMins < 60 else {
                return failure("bad time zone offset")
            }
            offsetMinutes = sign * (offsetHours * 60 + offsetMins)
        }
        guard index == bytes.count else { return failure("unexpected text after the time") }
        let days = CivilCalendar.days(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetMinutes * 60
        return .success(seconds * 1000 + milliseconds)
    }

    /// At least `width` digits, zero-padded; more when the value needs them.
    static func appendDigits(_ value: some BinaryInteger, width: Int, to out: inout ByteWriter) {
        var divisor: UInt64 = 1
        var digits = 1
        while digits < width || UInt64(value) / divisor >= 10 {
            divisor *= 10
            digits += 1
        }
        var remaining = UInt64(value)
        while divisor > 0 {
            out.byte(UInt8(ascii: "0") + UInt8(remaining / divisor % 10))
            remaining %= divisor
            divisor /= 10
        }
    }
}

extension Int64 {
    /// Division rounding toward negative infinity, so dates before 1970 land on the right day.
    func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
