/// Puts JSON text in one canonical spelling so that two equivalent texts compare equal: no
/// whitespace outside strings, and strings re-escaped one way (only `"`, `\` and control
/// characters, as `\uXXXX` for the latter). Member order and number spelling are kept exactly.
///
/// Deliberately independent of FerryBSON's own JSON parser, so a bug there cannot hide itself.
struct JSONNormalizer {
    struct Invalid: Error, CustomStringConvertible {
        let description: String
    }

    private let scalars: [Unicode.Scalar]
    private var index = 0
    private var out = ""

    static func normalize(_ text: String) throws -> String {
        var normalizer = JSONNormalizer(scalars: Array(text.unicodeScalars))
        normalizer.skipWhitespace()
        try normalizer.value()
        normalizer.skipWhitespace()
        guard normalizer.index == normalizer.scalars.count else { throw normalizer.invalid("trailing text") }
        return normalizer.out
    }

    private init(scalars: [Unicode.Scalar]) { self.scalars = scalars }

    private func invalid(_ what: String) -> Invalid { Invalid(description: "\(what) at scalar \(index)") }

    private var current: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

    private mutating func skipWhitespace() {
        while let c = current, c == " " || c == "\t" || c == "\n" || c == "\r" { index += 1 }
    }

    private mutating func value() throws {
        guard let c = current else { throw invalid("missing value") }
        switch c {
        case "{": try container(close: "}", member: true)
        case "[": try container(close: "]", member: false)
        case "\"": try string()
        case "t": try literal("true")
        case "f": try literal("false")
        case "n": try literal("null")
        case "-", "0"..."9": try number()
        default: throw invalid("unexpected \(c)")
        }
    }

    private mutating func container(close: Unicode.Scalar, member: Bool) throws {
        out.unicodeScalars.append(scalars[index])
        index += 1
        skipWhitespace()
        if current == close {
            index += 1
            out.unicodeScalars.append(close)
            return
        }
        while true {
            skipWhitespace()
            if member {
                guard current == "\"" else { throw invalid("expected key") }
                try string()
                skipWhitespace()
                guard current == ":" else { throw invalid("expected ':'") }
                index += 1
                out += ":"
                skipWhitespace()
            }
            try value()
            skipWhitespace()
            if current == "," {
                index += 1
                out += ","
            } else if current == close {
                index += 1
                out.unicodeScalars.append(close)
                return
            } else {
                throw invalid("expected ',' or '\(close)'")
            }
        }
    }

    private mutating func string() throws {
        index += 1
        var decoded = String.UnicodeScalarView()
        while true {
            guard let c = current else { throw invalid("unterminated string") }
            index += 1
            if c == "\"" { break }
            if c.value < 0x20 { throw invalid("raw control character in string") }
            if c != "\\" {
                decoded.append(c)
                continue
            }
            guard let e = current else { throw invalid("unterminated escape") }
            index += 1
            switch e {
            case "\"", "\\", "/": decoded.append(e)
            case "b": decoded.append("\u{8}")
            case "f": decoded.append("\u{C}")
            case "n": decoded.append("\n")
            case "r": decoded.append("\r")
            case "t": decoded.append("\t")
            case "u":
                var code = try hex4()
                if (0xD800..<0xDC00).contains(code) {
                    guard current == "\\", index + 1 < scalars.count, scalars[index + 1] == "u" else { throw invalid("lone surrogate") }
                    index += 2
                    let low = try hex4()
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(code) else { throw invalid("bad \\u escape") }
                decoded.append(scalar)
            default: throw invalid("bad escape")
            }
        }
        out += "\""
        for scalar in decoded {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    private mutating func hex4() throws -> UInt32 {
        guard index + 4 <= scalars.count, let code = UInt32(String(String.UnicodeScalarView(scalars[index..<index + 4])), radix: 16)
        else { throw invalid("bad \\u escape") }
        index += 4
        return code
    }

    private mutating func literal(_ word: String) throws {
        for expected in word.unicodeScalars {
            guard current == expected else { throw invalid("bad literal") }
            index += 1
        }
        out += word
    }

    private mutating func number() throws {
        let start = index
        while let c = current, c == "-" || c == "+" || c == "." || c == "e" || c == "E" || ("0"..."9").contains(c) { index += 1 }
        out.unicodeScalars.append(contentsOf: scalars[start..<index])
    }
}
