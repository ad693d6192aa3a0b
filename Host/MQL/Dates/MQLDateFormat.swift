/// The format-string rules shared by `$dateToString` and `$dateFromString`.
enum MQLDateFormat {
    /// Specifiers `$dateToString` accepts (besides `%%`).
    static let toStringSpecifiers: [UInt8] = Array("bBdGHjLmMSwuUVYzZ".utf8)
    /// Specifiers `$dateFromString` accepts (besides `%%`): no `%w` or `%U`.
    static let fromStringSpecifiers: [UInt8] = Array("bBdGHjLmMSuVYzZ".utf8)

    static let monthNames = [
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ]

    /// MongoDB checks the whole format before using it: every `%` must be followed by an allowed
    /// specifier or another `%`.
    static func validate(_ format: String, allowed: [UInt8]) throws {
        var bytes = format.utf8.makeIterator()
        var offset = 0
        while let byte = bytes.next() {
            offset += 1
            guard byte == UInt8(ascii: "%") else { continue }
            guard let next = bytes.next() else {
                throw MQLDateError(code: 18535, message: "Unmatched '%' at end of format string")
            }
            offset += 1
            guard next == UInt8(ascii: "%") || allowed.contains(next) else {
                // Name the whole character, which may take several UTF-8 bytes.
                let character = format.utf8[format.utf8.index(format.utf8.startIndex, offsetBy: offset - 1)...]
                    .prefix(next < 0xC0 ? 1 : next < 0xE0 ? 2 : next < 0xF0 ? 3 : 4)
                throw MQLDateError(
                    code: 18536,
                    message: "Invalid format character '%\(String(decoding: character, as: UTF8.self))' in format string")
            }
        }
    }
}

extension MQLDates {
    /// Checks a `$dateToString` format once, up front (18535, 18536), as MongoDB does when it
    /// parses the expression.
    public static func validateToStringFormat(_ format: String) throws {
        try MQLDateFormat.validate(format, allowed: MQLDateFormat.toStringSpecifiers)
    }

    /// Checks a `$dateFromString` format (which has no `%w` or `%U`).
    public static func validateFromStringFormat(_ format: String) throws {
        try MQLDateFormat.validate(format, allowed: MQLDateFormat.fromStringSpecifiers)
    }
}
