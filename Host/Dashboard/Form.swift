import Foundation

/// `application/x-www-form-urlencoded` fields, from a query string or a POST body (both are
/// written this way by browsers: `+` for a space, percent-encoded bytes).
struct Form: Sendable {
    private(set) var fields: [(name: String, value: String)] = []

    init(_ encoded: String?) {
        guard let encoded, !encoded.isEmpty else { return }
        for pair in encoded.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                let spaced = text.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            fields.append((decode(parts[0]), parts.count > 1 ? decode(parts[1]) : ""))
        }
    }

    /// The first value of `name`, trimmed; empty when absent.
    subscript(_ name: String) -> String {
        (fields.first { $0.name == name }?.value ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The value as given (for text areas whose whitespace matters).
    func raw(_ name: String) -> String? { fields.first { $0.name == name }?.value }
}
