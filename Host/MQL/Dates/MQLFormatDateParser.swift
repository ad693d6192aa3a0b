/// `$dateFromString` with `format`: each specifier reads its field, every other character must
/// match itself. Numbers take up to their width in digits ("4/26/1992" fits "%m/%d/%Y").
///
///     %Y year (≤4 digits)  %m month  %d day  %H hour  %M minute  %S second  %L millisecond (≤3
///     digits, "8" = 800)  %j day of year (after %Y)  %G ISO year  %V ISO week  %u ISO weekday
///     %b/%B month name or abbreviation  %z zone (as in `MQLZoneText`)  %Z offset minutes  %% '%'
///
/// ISO fields (%G %V %u) may not be mixed with calendar ones (%Y %m %d %j %b %B), as in MongoDB.
/// Like MongoDB (whose C parser stops at a NUL byte), input and format end at their first NUL.
enum MQLFormatDateParser {
    static func parse(_ s: inout MQLDateScanner, format: String) throws -> MQLParsedDate {
        var parsed = MQLParsedDate()
        let f = Array(format.utf8.prefix { $0 != 0 })
        let inputEnd = s.bytes.firstIndex(of: 0) ?? s.bytes.count
        var fi = 0
        while fi < f.count && s.position < inputEnd {
            let start = s.position
            guard f[fi] == UInt8(ascii: "%"), fi + 1 < f.count else {
                guard s.consume(f[fi]) else { throw s.error("Format literal not found") }
                fi += 1
                continue
            }
            let specifier = f[fi + 1]
            fi += 2
            try field(specifier, &s, &parsed, start: start)
        }
        if fi < f.count { throw s.error("Data missing", at: s.position) }
        if s.position < inputEnd { throw s.error("Trailing data") }
        return parsed
    }

    private static func field(
        _ specifier: UInt8, _ s: inout MQLDateScanner, _ parsed: inout MQLParsedDate, start: Int
    ) throws {
        func number(_ maxDigits: Int, _ what: String) throws -> Int64 {
            guard let n = s.number(maxDigits: maxDigits) else { throw s.error("A \(what) could not be found") }
            return n.value
        }
        func natural() throws {
            if parsed.hasISODate { throw s.error("Mixing of ISO dates with natural dates is not allowed", at: start) }
        }
        func iso() throws {
            if parsed.hasNaturalDate { throw s.error("Mixing of ISO dates with natural dates is not allowed", at: start) }
        }
        switch specifier {
        case UInt8(ascii: "%"):
            guard s.consume(UInt8(ascii: "%")) else { throw s.error("The escaped character could not be found") }
        case UInt8(ascii: "Y"):
            try natural()
            parsed.year = try number(4, "four digit year")
        case UInt8(ascii: "m"):
            try natural()
            parsed.month = try number(2, "two digit month")
        case UInt8(ascii: "d"):
            try natural()
            parsed.day = try number(2, "two digit day")
        case UInt8(ascii: "j"):
            try natural()
            guard parsed.year != nil else {
                throw s.error("A 'day of year' can only come after a year has been found", at: start)
            }
            parsed.dayOfYear = try number(3, "three digit day-of-year")
        case UInt8(ascii: "b"), UInt8(ascii: "B"):
            try natural()
            let name = s.word().lowercased()
            guard let index = MQLDateFormat.monthNames.firstIndex(where: {
                let full = $0.lowercased()
                return name == full || name == full.prefix(3)
            }) else { throw s.error("A textual month could not be found", at: start) }
            parsed.month = Int64(index + 1)
        case UInt8(ascii: "G"):
            try iso()
            parsed.isoYear = try number(4, "four digit ISO year")
        case UInt8(ascii: "V"):
            try iso()
            parsed.isoWeek = try number(2, "two digit ISO week")
        case UInt8(ascii: "u"):
            try iso()
            parsed.isoDayOfWeek = try number(1, "one digit ISO day-of-week")
        case UInt8(ascii: "H"): parsed.hour = try number(2, "two digit hour")
        case UInt8(ascii: "M"): parsed.minute = try number(2, "two digit minute")
        case UInt8(ascii: "S"): parsed.second = try number(2, "two digit second")
        case UInt8(ascii: "L"):
            // Read as a fraction of a second: "8" is 800 ms, "81" 810 ms.
            guard let n = s.number(maxDigits: 3) else { throw s.error("A three digit millisecond could not be found") }
            parsed.millisecond = n.value * (n.digits == 1 ? 100 : n.digits == 2 ? 10 : 1)
        case UInt8(ascii: "z"): parsed.zone = try MQLZoneText.parse(&s)
        case UInt8(ascii: "Z"): parsed.zone = .offset(seconds: try MQLZoneText.minutesOffset(&s))
        default:
            preconditionFailure("format was validated")
        }
    }
}
