/// A version as Semantic Versioning 2.0.0 defines it (https://semver.org): `MAJOR.MINOR.PATCH`,
/// an optional pre-release (`-rc.1`) and optional build metadata (`+build.5`). Parsing is strict
/// (no leading zeros, no empty identifiers, ASCII only); ordering is semver's precedence, in which
/// build metadata plays no part.
public struct SemanticVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public enum Identifier: Sendable, Hashable, Comparable, CustomStringConvertible {
        /// Digits only, compared numerically (kept as text so any length compares right).
        case numeric(String)
        case alphanumeric(String)

        public var description: String {
            switch self {
            case .numeric(let text), .alphanumeric(let text): text
            }
        }

        /// Numeric < alphanumeric; numbers by value; text by ASCII order.
        public static func < (lhs: Identifier, rhs: Identifier) -> Bool {
            switch (lhs, rhs) {
            case (.numeric(let a), .numeric(let b)): a.count != b.count ? a.count < b.count : a < b
            case (.numeric, .alphanumeric): true
            case (.alphanumeric, .numeric): false
            case (.alphanumeric(let a), .alphanumeric(let b)): Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8))
            }
        }
    }

    public struct ParseError: Error, CustomStringConvertible, Sendable, Equatable {
        public var text: String
        public var reason: String
        public var description: String {
            "\"\(text)\" is not a semantic version (\(reason)); write MAJOR.MINOR.PATCH such as 1.2.0, optionally with -prerelease and +build"
        }
    }

    public var major: UInt64
    public var minor: UInt64
    public var patch: UInt64
    public var prerelease: [Identifier]
    /// Kept for display; never part of precedence or equality.
    public var build: [String]

    public init(_ major: UInt64, _ minor: UInt64, _ patch: UInt64, prerelease: [Identifier] = [], build: [String] = []) {
        self.major = major
        self.minor = minor
        self.patch = patch
        self.prerelease = prerelease
        self.build = build
    }

    public init(parsing text: String) throws(ParseError) {
        func fail(_ reason: String) -> ParseError { ParseError(text: text, reason: reason) }
        var rest = Substring(text)
        var build: [String] = []
        if let plus = rest.firstIndex(of: "+") {
            let metadata = rest[rest.index(after: plus)...]
            rest = rest[..<plus]
            build = metadata.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            for identifier in build {
                if identifier.isEmpty { throw fail("an empty build identifier") }
                if !identifier.utf8.allSatisfy(Self.isIdentifierByte) { throw fail("build metadata may hold only [0-9A-Za-z-]") }
            }
        }
        var prerelease: [Identifier] = []
        if let dash = rest.firstIndex(of: "-") {
            let tail = rest[rest.index(after: dash)...]
            rest = rest[..<dash]
            for part in tail.split(separator: ".", omittingEmptySubsequences: false) {
                if part.isEmpty { throw fail("an empty pre-release identifier") }
                if !part.utf8.allSatisfy(Self.isIdentifierByte) { throw fail("a pre-release may hold only [0-9A-Za-z-]") }
                if part.utf8.allSatisfy(Self.isDigit) {
                    if part.count > 1, part.hasPrefix("0") { throw fail("the numeric pre-release identifier \(part) has a leading zero") }
                    prerelease.append(.numeric(String(part)))
                } else {
                    prerelease.append(.alphanumeric(String(part)))
                }
            }
        }
        let core = rest.split(separator: ".", omittingEmptySubsequences: false)
        guard core.count == 3 else { throw fail("it needs three numbers, MAJOR.MINOR.PATCH") }
        var numbers: [UInt64] = []
        for part in core {
            guard !part.isEmpty, part.utf8.allSatisfy(Self.isDigit) else { throw fail("\"\(part)\" is not a number") }
            if part.count > 1, part.hasPrefix("0") { throw fail("\(part) has a leading zero") }
            guard let value = UInt64(part) else { throw fail("\(part) is too large") }
            numbers.append(value)
        }
        self.init(numbers[0], numbers[1], numbers[2], prerelease: prerelease, build: build)
    }

    public var isPrerelease: Bool { !prerelease.isEmpty }

    public var description: String {
        var text = "\(major).\(minor).\(patch)"
        if !prerelease.isEmpty { text += "-" + prerelease.map(\.description).joined(separator: ".") }
        if !build.isEmpty { text += "+" + build.joined(separator: ".") }
        return text
    }

    /// Precedence: build metadata is ignored, so `1.0.0+a == 1.0.0+b`.
    public static func == (lhs: SemanticVersion, rhs: SemanticVersion) -> Bool {
        (lhs.major, lhs.minor, lhs.patch) == (rhs.major, rhs.minor, rhs.patch) && lhs.prerelease == rhs.prerelease
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(major)
        hasher.combine(minor)
        hasher.combine(patch)
        hasher.combine(prerelease)
    }

    public static func < (lhs: SemanticVersion, rhs: SemanticVersion) -> Bool {
        if (lhs.major, lhs.minor, lhs.patch) != (rhs.major, rhs.minor, rhs.patch) {
            return (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
        }
        // A pre-release sorts before its release; then identifiers left to right, and a longer
        // list wins when one is a prefix of the other.
        switch (lhs.prerelease.isEmpty, rhs.prerelease.isEmpty) {
        case (true, _): return false
        case (false, true): return true
        case (false, false): return lhs.prerelease.lexicographicallyPrecedes(rhs.prerelease)
        }
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
    static func isIdentifierByte(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D
    }
}
