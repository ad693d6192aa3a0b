/// A module's registry name, `namespace:name` as Viam writes it (`acme:tmp117`). Both parts are
/// also directory names in registries and caches, so they are held to a safe alphabet.
public struct ModuleID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let namespace: String
    public let name: String

    public struct ParseError: Error, CustomStringConvertible, Sendable, Equatable {
        public var text: String
        public var description: String {
            "\"\(text)\" is not a module id; write NAMESPACE:NAME (e.g. acme:tmp117), each part of letters, digits, - and _ (at most 64), not starting with - or _"
        }
    }

    public init(parsing text: String) throws(ParseError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, Self.isValidPart(parts[0]), Self.isValidPart(parts[1]) else { throw ParseError(text: text) }
        namespace = String(parts[0])
        name = String(parts[1])
    }

    public var description: String { "\(namespace):\(name)" }

    /// `namespace/name`: where the module lives under a registry's `modules/` and in a cache.
    public var relativePath: String { "\(namespace)/\(name)" }

    public static func < (lhs: ModuleID, rhs: ModuleID) -> Bool { lhs.description < rhs.description }

    static func isValidPart(_ part: Substring) -> Bool {
        guard let first = part.utf8.first, part.utf8.count <= 64, first != UInt8(ascii: "-"), first != UInt8(ascii: "_") else {
            return false
        }
        return part.utf8.allSatisfy { SemanticVersion.isIdentifierByte($0) || $0 == UInt8(ascii: "_") }
    }
}
