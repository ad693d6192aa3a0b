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
        // No specifier writes more than 4.5 bytes per format byte ("%B" → "September").
        let capacity = format.utf8.count * 5
        return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buffer in
            var out = MQLByteWriter(buffer)
            var pendingPercent = false
            for byte in format.utf8 {
                guard pendingPercent else {
                    if byte == UInt8(ascii: "%") { pendingPercent = true } else { out.append(byte) }
                    continue
                }
                pendingPercent = false
                switch byte {
                case UInt8(ascii: "%"): out.append(byte)
                case UInt8(ascii: "Y"): try out.padded(parts.year, 4)
                case UInt8(ascii: "m"): try out.padded(parts.month, 2)
                case UInt8(ascii: "d"): try out.padded(parts.day, 2)
                case UInt8(ascii: "H"): try out.padded(parts.hour, 2)
                case UInt8(ascii: "M"): try out.padded(parts.minute, 2)
                case UInt8(ascii: "S"): try out.padded(parts.second, 2)
                case UInt8(ascii: "L"): try out.padded(parts.millisecond, 3)
                case UInt8(ascii: "j"): try out.padded(parts.dayOfYear, 3)
                case UInt8(ascii: "w"): try out.padded(parts.dayOfWeek, 1)
                case UInt8(ascii: "U"): try out.padded(parts.week, 2)
                case UInt8(ascii: "G"): try out.padded(parts.isoWeekYear, 4)
                case UInt8(ascii: "V"): try out.padded(parts.isoWeek, 2)
                case UInt8(ascii: "u"): try out.padded(parts.isoDayOfWeek, 1)
                case UInt8(ascii: "b"): out.append(MQLDateFormat.monthNames[parts.month - 1].utf8.prefix(3))
                case UInt8(ascii: "B"): out.append(MQLDateFormat.monthNames[parts.month - 1].utf8)
                case UInt8(ascii: "z"):
                    // Hours and minutes truncate toward zero, the sign comes first: -2:30 is "-0230".
                    out.append(offset < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
                    try out.padded(abs(offset / 3600), 2)
                    try out.padded(abs(offset / 60) % 60, 2)
                case UInt8(ascii: "Z"):
                    if offset < 0 && offset / 60 != 0 { out.append(UInt8(ascii: "-")) }
                    try out.padded(abs(offset / 60), 1)
                default:
                    preconditionFailure("format was validated")
                }
            }
            return out.string
        }
    }

    /// `$dateToString` without a `format` argument: ISO 8601, with "Z" only for UTC.
    public static func format(_ ms: Int64, in zone: MQLTimeZone) throws -> String {
        try format(ms, format: defaultFormat(in: zone), in: zone)
    }
}

/// Appends bytes to a buffer sized in advance by `format`, so formatting allocates only the
/// returned String (and nothing for results of up to 15 bytes).
private struct MQLByteWriter {
    let buffer: UnsafeMutableBufferPointer<UInt8>
    var count = 0

    init(_ buffer: UnsafeMutableBufferPointer<UInt8>) { self.buffer = buffer }

    var string: String { String(decoding: UnsafeBufferPointer(rebasing: buffer[..<count]), as: UTF8.self) }

    mutating func append(_ byte: UInt8) {
        buffer[count] = byte
        count += 1
    }

    mutating func append<S: Sequence<UInt8>>(_ bytes: S) {
        for byte in bytes { append(byte) }
    }

    /// Zero-padded to `width`, refusing what MongoDB refuses to print (outside 0...9999).
    mutating func padded(_ number: Int, _ width: Int) throws {
        guard (0...9999).contains(number) else {
            throw MQLDateError(
                code: 18537,
                message: "Could not convert date to string: date component was outside the supported range of 0-9999: "
                    + "\(number)")
        }
        let digits = number >= 1000 ? 4 : number >= 100 ? 3 : number >= 10 ? 2 : 1
        for _ in digits..<max(width, digits) { append(UInt8(ascii: "0")) }
        var divisor = 1
        for _ in 1..<digits { divisor *= 10 }
        while divisor > 0 {
            append(UInt8(ascii: "0") + UInt8(number / divisor % 10))
            divisor /= 10
        }
    }
}
