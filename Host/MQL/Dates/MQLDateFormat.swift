/// The format-string rules shared by `$dateToString` and `$dateFromString`.
enum MQLDateFormat {
    /// Specifiers `$dateToString` accepts (besides `%%`).
    static let toStringSpecifiers: Set<UInt8> = Set("bBdGHjLmMSwuUVYzZ".utf8)
    /// Specifiers `$dateFromString` accepts (besides `%%`): no `%w` or `%U`.
    static let fromStringSpecifiers: Set<UInt8> = Set("bBdGHjLmMSuVYzZ".utf8)

    static let monthNames = [
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ]

    /// MongoDB checks the whole format before using it: every `%` must be followed by an allowed
    /// specifier or another `%`.
    static func validate(_ format: String, allowed: Set<UInt8>) throws {
        var iterator = format.unicodeScalars.makeIterator()
        while let scalar = iterator.next() {
            guard scalar == "%" else { continue }
            guard let next = iterator.next() else {
                throw MQLDateError(code: 18535, message: "Unmatched '%' at end of format string")
            }
            guard next == "%" || (next.isASCII && allowed.contains(UInt8(next.value))) else {
                throw MQLDateError(code: 18536, message: "Invalid format character '%\(next)' in format string")
            }
        }
    }
}
