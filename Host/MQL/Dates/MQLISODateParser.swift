/// `$dateFromString` without `format`: the ISO 8601-style strings MongoDB accepts.
///
///     date      YYYY-MM-DD | YYYY/MM/DD | YYYY-MM (day 1) | YYYY-Www[-D] | YYYYWww[D]
///     time      HH:MM[:SS[.fraction]]   (':' or '.' between fields, as MongoDB allows;
///                                        the fraction is truncated to milliseconds)
///     zone      Z | ±HH[[:]MM] | GMT±HH[[:]MM] | UTC | GMT | EST, CEST, … | military letter
///     string    date [('T' | 't' | spaces) time] [spaces] [zone]
///
/// MongoDB's parser also takes free English ("July 4th, 2017 11am", "7/4/17"); those forms are
/// not supported here and fail with "Unexpected character". A time without a date fails as in
/// MongoDB with "an incomplete date/time string has been found".
enum MQLISODateParser {
    static func parse(_ s: inout MQLDateScanner) throws -> MQLParsedDate {
        var parsed = MQLParsedDate()
        s.skipSpaces()
        if s.atEnd { throw s.error("Empty string") }
        let timeOnly = MQLDateScanner.isDigit(s.peek()) && (s.peek(1) == colon || s.peek(2) == colon)
        if !timeOnly {
            try date(&s, into: &parsed)
            if s.consume(UInt8(ascii: "T")) || s.consume(UInt8(ascii: "t")) {
                try time(&s, into: &parsed)
            } else {
                s.skipSpaces()
                if MQLDateScanner.isDigit(s.current) { try time(&s, into: &parsed) }
            }
        } else {
            try time(&s, into: &parsed)
        }
        s.skipSpaces()
        if !s.atEnd { parsed.zone = try MQLZoneText.parse(&s) }
        s.skipSpaces()
        guard s.atEnd else { throw s.error("Unexpected character") }
        return parsed
    }

    private static let colon = UInt8(ascii: ":")

    private static func date(_ s: inout MQLDateScanner, into parsed: inout MQLParsedDate) throws {
        guard let year = s.number(minDigits: 4, maxDigits: 4) else { throw s.error("Unexpected character") }
        guard !MQLDateScanner.isDigit(s.current) else { throw s.error("Unexpected character") }
        let separator = s.current
        if separator == UInt8(ascii: "-") || separator == UInt8(ascii: "/") { s.position += 1 }
        if s.consume(UInt8(ascii: "W")) {
            guard let week = s.number(minDigits: 2, maxDigits: 2) else { throw s.error("Unexpected character") }
            parsed.isoYear = year.value
            parsed.isoWeek = week.value
            if separator == UInt8(ascii: "-") && s.current == UInt8(ascii: "-") && MQLDateScanner.isDigit(s.peek(1)) {
                s.position += 1
            }
            if let day = s.number(maxDigits: 1) { parsed.isoDayOfWeek = day.value }
            return
        }
        guard separator == UInt8(ascii: "-") || separator == UInt8(ascii: "/"),
            let month = s.number(maxDigits: 2)
        else { throw s.error("Unexpected character") }
        parsed.year = year.value
        parsed.month = month.value
        if let separator, s.consume(separator) {
            guard let day = s.number(maxDigits: 2) else { throw s.error("Unexpected character") }
            parsed.day = day.value
        } else {
            parsed.day = 1
        }
    }

    private static func time(_ s: inout MQLDateScanner, into parsed: inout MQLParsedDate) throws {
        guard let hour = s.number(maxDigits: 2) else { throw s.error("Unexpected character") }
        guard s.consume(colon) || s.consume(UInt8(ascii: ".")),
            let minute = s.number(minDigits: 2, maxDigits: 2)
        else { throw s.error("Unexpected character") }
        parsed.hour = hour.value
        parsed.minute = minute.value
        parsed.second = 0
        let separator = s.current
        guard separator == colon || separator == UInt8(ascii: "."),
            MQLDateScanner.isDigit(s.peek(1)), MQLDateScanner.isDigit(s.peek(2))
        else { return }
        s.position += 1
        parsed.second = s.number(minDigits: 2, maxDigits: 2)!.value
        if (s.current == UInt8(ascii: ".") || s.current == UInt8(ascii: ",")) && MQLDateScanner.isDigit(s.peek(1)) {
            s.position += 1
            parsed.millisecond = fractionMillis(&s)
        }
    }

    /// All digits of a fraction, kept to milliseconds by truncation (".8" → 800, ".81239" → 812).
    static func fractionMillis(_ s: inout MQLDateScanner) -> Int64 {
        var millis: Int64 = 0
        var digits = 0
        while MQLDateScanner.isDigit(s.current) {
            if digits < 3 { millis = millis * 10 + Int64(s.current! - 48) }
            digits += 1
            s.position += 1
        }
        for _ in digits..<max(digits, 3) { millis *= 10 }
        return millis
    }
}
