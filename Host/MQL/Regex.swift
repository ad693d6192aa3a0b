import FerryBSON
import Foundation

/// A compiled regular expression with MongoDB's option letters (i, m, s, x; u accepted).
/// ICU (NSRegularExpression) stands in for PCRE: the syntax sensors and logs use is the same.
struct MQLRegex: Sendable {
    let regex: NSRegularExpression
    let pattern: String
    let options: String

    init(pattern: String, options: String, op: String) throws {
        var flags: NSRegularExpression.Options = []
        for letter in options {
            switch letter {
            case "i": flags.insert(.caseInsensitive)
            case "m": flags.insert(.anchorsMatchLines)
            case "s": flags.insert(.dotMatchesLineSeparators)
            case "x": flags.insert(.allowCommentsAndWhitespace)
            case "u": break
            default: throw mqlError(op, "invalid flag in regex options: \(letter)")
            }
        }
        if pattern.contains("\0") { throw mqlError(op, "regular expression cannot contain an embedded null byte") }
        do {
            regex = try NSRegularExpression(pattern: pattern, options: flags)
        } catch {
            throw mqlError(op, "invalid regular expression /\(pattern)/: \(error.localizedDescription)")
        }
        self.pattern = pattern
        self.options = options
    }

    func matches(_ s: String) -> Bool {
        regex.firstMatch(in: s, options: [], range: NSRange(location: 0, length: s.utf16.count)) != nil
    }

    struct Match {
        var match: String
        /// Code point index of the match's start.
        var codePointIndex: Int
        var captures: [String?]
        /// UTF-16 range of the whole match.
        var range: NSRange
    }

    /// The first match at or after UTF-16 offset `from`.
    func firstMatch(in s: String, from: Int) -> Match? {
        let length = s.utf16.count
        guard from <= length,
            let result = regex.firstMatch(in: s, options: [], range: NSRange(location: from, length: length - from))
        else { return nil }
        let ns = s as NSString
        var captures: [String?] = []
        if result.numberOfRanges > 1 {
            for i in 1..<result.numberOfRanges {
                let r = result.range(at: i)
                captures.append(r.location == NSNotFound ? nil : ns.substring(with: r))
            }
        }
        let prefix = ns.substring(to: result.range.location)
        return Match(
            match: ns.substring(with: result.range), codePointIndex: prefix.unicodeScalars.count, captures: captures,
            range: result.range)
    }

    /// Every non-overlapping match; an empty match moves one code point on.
    func allMatches(in s: String) -> [Match] {
        var out: [Match] = []
        var position = 0
        let length = s.utf16.count
        while position <= length, let m = firstMatch(in: s, from: position) {
            out.append(m)
            if m.range.length == 0 {
                if m.range.location >= length { break }
                let index = String.Index(utf16Offset: m.range.location, in: s)
                position = m.range.location + UTF16.width(s.unicodeScalars[index])
            } else {
                position = m.range.location + m.range.length
            }
        }
        return out
    }

    func bsonMatch(_ m: Match) -> BSON {
        .document([
            "match": .string(m.match), "idx": .int32(Int32(m.codePointIndex)),
            "captures": .array(m.captures.map { $0.map(BSON.string) ?? .null }),
        ])
    }
}
