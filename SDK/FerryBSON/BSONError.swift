/// Why BSON bytes, Extended JSON text or a decimal128 string could not be read, and where.
public struct BSONError: Error, CustomStringConvertible, Sendable, Hashable {
    public enum Location: Sendable, Hashable {
        /// Offset of the offending byte from the start of the outermost BSON buffer.
        case byteOffset(Int)
        /// 1-based line and column (in Unicode scalars) of the offending Extended JSON text.
        case text(line: Int, column: Int)
    }

    /// What was wrong, without the location.
    public var message: String
    public var location: Location?

    public init(_ message: String, at location: Location? = nil) {
        self.message = message
        self.location = location
    }

    static func bytes(_ message: String, at offset: Int) -> BSONError {
        BSONError(message, at: .byteOffset(offset))
    }

    public var byteOffset: Int? {
        if case .byteOffset(let offset) = location { offset } else { nil }
    }

    public var line: Int? {
        if case .text(let line, _) = location { line } else { nil }
    }

    public var column: Int? {
        if case .text(_, let column) = location { column } else { nil }
    }

    public var description: String {
        switch location {
        case .byteOffset(let offset): "invalid BSON at byte \(offset): \(message)"
        case .text(let line, let column): "invalid Extended JSON at \(line):\(column): \(message)"
        case nil: message
        }
    }
}
