/// The first keyword of an SQL text, skipping whitespace, comments and opening parentheses — enough
/// to tell a query from a write for a clear error message. Enforcement is the authorizer's job.
package enum SQLKeywords {
    /// Statements that are not queries. Other words go to SQLite, which reports a syntax error.
    package static let nonQueries: Set<String> = [
        "INSERT", "UPDATE", "DELETE", "REPLACE", "UPSERT", "CREATE", "DROP", "ALTER", "ATTACH", "DETACH", "PRAGMA",
        "BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE", "VACUUM", "ANALYZE", "REINDEX", "EXPLAIN",
    ]

    package static func first(in sql: String) -> String? {
        let text = Array(sql.utf8)
        var index = 0
        while index < text.count {
            let c = text[index]
            if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r")
                || c == UInt8(ascii: "(")
            {
                index += 1
            } else if c == UInt8(ascii: "-"), index + 1 < text.count, text[index + 1] == UInt8(ascii: "-") {
                while index < text.count, text[index] != UInt8(ascii: "\n") { index += 1 }
            } else if c == UInt8(ascii: "/"), index + 1 < text.count, text[index + 1] == UInt8(ascii: "*") {
                index += 2
                while index + 1 < text.count, !(text[index] == UInt8(ascii: "*") && text[index + 1] == UInt8(ascii: "/")) {
                    index += 1
                }
                index += 2
            } else {
                break
            }
        }
        var end = index
        while end < text.count, isLetter(text[end]) { end += 1 }
        guard end > index else { return nil }
        return String(decoding: text[index..<end], as: UTF8.self).uppercased()
    }

    private static func isLetter(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
    }
}
