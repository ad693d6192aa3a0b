/// A byte cursor over a `$dateFromString` input, with the error shape MongoDB reports:
/// `Error parsing date string '<input>'; <position>: <message> '<character>'`.
struct MQLDateScanner {
    let text: String
    let bytes: [UInt8]
    var position = 0

    init(_ text: String) {
        self.text = text
        bytes = Array(text.utf8)
    }

    var atEnd: Bool { position >= bytes.count }
    var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    func peek(_ offset: Int = 0) -> UInt8? {
        position + offset < bytes.count ? bytes[position + offset] : nil
    }

    static func isDigit(_ b: UInt8?) -> Bool { b.map { $0 >= 48 && $0 <= 57 } ?? false }
    static func isLetter(_ b: UInt8?) -> Bool { b.map { ($0 | 0x20) >= 97 && ($0 | 0x20) <= 122 } ?? false }
    static func isSpace(_ b: UInt8?) -> Bool { b == 32 || b == 9 }

    mutating func skipSpaces() {
        while Self.isSpace(current) { position += 1 }
    }

    mutating func consume(_ byte: UInt8) -> Bool {
        guard current == byte else { return false }
        position += 1
        return true
    }

    /// Reads `minDigits...maxDigits` decimal digits (stopping at `maxDigits`), or nil without
    /// moving when fewer than `minDigits` are there.
    mutating func number(minDigits: Int = 1, maxDigits: Int) -> (value: Int64, digits: Int)? {
        var value: Int64 = 0
        var count = 0
        while count < maxDigits, let b = peek(count), Self.isDigit(b) {
            value = value * 10 + Int64(b - 48)
            count += 1
        }
        guard count >= minDigits else { return nil }
        position += count
        return (value, count)
    }

    /// Reads a run of ASCII letters.
    mutating func word() -> String {
        let start = position
        while Self.isLetter(current) { position += 1 }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    /// MongoDB's parse error, pointing at `position` (or at `at`).
    func error(_ message: String, at: Int? = nil) -> MQLDateError {
        let index = at ?? position
        var text = "Error parsing date string '\(self.text)'; \(index): \(message)"
        if index < bytes.count {
            let end = min(bytes.count, index + Self.scalarLength(bytes[index]))
            text += " '\(String(decoding: bytes[index..<end], as: UTF8.self))'"
        }
        return .conversionFailure(text)
    }

    private static func scalarLength(_ lead: UInt8) -> Int {
        lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
    }
}
