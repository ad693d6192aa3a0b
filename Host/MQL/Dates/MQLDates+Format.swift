extension MQLDates {
    /// `$dateToString`. Specifiers, as MongoDB defines them:
    /// `%Y` year, `%m` month, `%d` day, `%H` hour, `%M` minute, `%S` second, `%L` millisecond,
    /// `%j` day of year (001-366), `%w` day of week (1 = Sunday … 7), `%U` week (00-53),
    /// `%G` ISO week-year, `%V` ISO week (01-53), `%u` ISO day of week (1 = Monday … 7),
    /// `%z` offset `±hhmm`, `%Z` offset in minutes (`-300`), `%b` `Jan`, `%B` `January`, `%%`.
    /// Everything else is copied. There is no `%a`/`%A` in MongoDB, so none here.
    ///
    /// Throws MongoDB's errors: 18535 for a trailing `%`, 18536 for an unknown specifier, 18537
    /// when a year is outside 0...9999 (MongoDB does not print them). With no `format` argument
    /// MongoDB uses `defaultFormat(in:)`.
    public static func format(_ ms: Int64, format: String, in zone: MQLTimeZone) throws -> String {
        try MQLDateFormat.validate(format, allowed: MQLDateFormat.toStringSpecifiers)
        let offset = zone.offsetSeconds(atUTCMillis: ms)
        let parts = parts(local: MQLLocalTime(utcMillis: ms, offsetSeconds: offset))
        var out: [UInt8] = []
        out.reserveCapacity(format.utf8.count + 16)
        var pendingPercent = false
        for byte in format.utf8 {
            guard pendingPercent else {
                if byte == UInt8(ascii: "%") { pendingPercent = true } else { out.append(byte) }
                continue
            }
            pendingPercent = false
            switch byte {
            case UInt8(ascii: "%"): out.append(byte)
            case UInt8(ascii: "Y"): try pad(parts.year, 4, &out)
            case UInt8(ascii: "m"): try pad(parts.month, 2, &out)
            case UInt8(ascii: "d"): try pad(parts.day, 2, &out)
            case UInt8(ascii: "H"): try pad(parts.hour, 2, &out)
            case UInt8(ascii: "M"): try pad(parts.minute, 2, &out)
            case UInt8(ascii: "S"): try pad(parts.second, 2, &out)
            case UInt8(ascii: "L"): try pad(parts.millisecond, 3, &out)
            case UInt8(ascii: "j"): try pad(parts.dayOfYear, 3, &out)
            case UInt8(ascii: "w"): try pad(parts.dayOfWeek, 1, &out)
            case UInt8(ascii: "U"): try pad(parts.week, 2, &out)
            case UInt8(ascii: "G"): try pad(parts.isoWeekYear, 4, &out)
            case UInt8(ascii: "V"): try pad(parts.isoWeek, 2, &out)
            case UInt8(ascii: "u"): try pad(parts.isoDayOfWeek, 1, &out)
            case UInt8(ascii: "b"): out.append(contentsOf: MQLDateFormat.monthNames[parts.month - 1].prefix(3).utf8)
            case UInt8(ascii: "B"): out.append(contentsOf: MQLDateFormat.monthNames[parts.month - 1].utf8)
            case UInt8(ascii: "z"):
                // Hours and minutes truncate toward zero, the sign comes first: -2:30 is "-0230".
                out.append(offset < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
                try pad(abs(offset / 3600), 2, &out)
                try pad(abs(offset / 60) % 60, 2, &out)
            case UInt8(ascii: "Z"):
                out.append(contentsOf: String(offset / 60).utf8)
            default:
                preconditionFailure("format was validated")
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `$dateToString` without a `format` argument: ISO 8601, with "Z" only for UTC.
    public static func format(_ ms: Int64, in zone: MQLTimeZone) throws -> String {
        try format(ms, format: defaultFormat(in: zone), in: zone)
    }

    /// Zero-padded to `width`, refusing what MongoDB refuses to print (outside 0...9999).
    @inline(__always)
    private static func pad(_ number: Int, _ width: Int, _ out: inout [UInt8]) throws {
        guard (0...9999).contains(number) else {
            throw MQLDateError(
                code: 18537,
                message: "Could not convert date to string: date component was outside the supported range of 0-9999: "
                    + "\(number)")
        }
        let digits = number >= 1000 ? 4 : number >= 100 ? 3 : number >= 10 ? 2 : 1
        for _ in digits..<max(width, digits) { out.append(UInt8(ascii: "0")) }
        var divisor = 1
        for _ in 1..<digits { divisor *= 10 }
        while divisor > 0 {
            out.append(UInt8(ascii: "0") + UInt8(number / divisor % 10))
            divisor /= 10
        }
    }
}
