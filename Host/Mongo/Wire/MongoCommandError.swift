import FerryBSON

/// A command's failure as MongoDB reports it: `{ok: 0, errmsg, code, codeName}`. The codes are
/// MongoDB's, so drivers raise the exceptions they document (pymongo's OperationFailure.code…).
public struct MongoCommandError: Error, CustomStringConvertible, Sendable, Equatable {
    public var code: Int32
    public var codeName: String
    public var message: String

    public init(code: Int32, codeName: String, _ message: String) {
        self.code = code
        self.codeName = codeName
        self.message = message
    }

    public var description: String { "\(message) (\(codeName), code \(code))" }

    public var reply: BSONDocument {
        ["ok": .double(0), "errmsg": .string(message), "code": .int32(code), "codeName": .string(codeName)]
    }

    /// The error a reply document carries, or nil when it says `ok: 1`.
    public init?(reply: BSONDocument) {
        let ok: Double? =
            switch reply["ok"] {
            case .double(let value)?: value
            case .int32(let value)?: Double(value)
            case .int64(let value)?: Double(value)
            case .bool(let value)?: value ? 1 : 0
            default: nil
            }
        guard ok != 1 else { return nil }
        var code: Int32 = 8  // UnknownError
        switch reply["code"] {
        case .int32(let value)?: code = value
        case .int64(let value)?: code = Int32(truncatingIfNeeded: value)
        case .double(let value)? where value.isFinite && abs(value) < 1e9: code = Int32(value)
        default: break
        }
        self.init(
            code: code, codeName: reply["codeName"]?.stringValue ?? "UnknownError",
            reply["errmsg"]?.stringValue ?? reply["$err"]?.stringValue ?? "the server answered ok: 0 without a message")
    }

    public static func internalError(_ message: String) -> Self { Self(code: 1, codeName: "InternalError", message) }
    public static func badValue(_ message: String) -> Self { Self(code: 2, codeName: "BadValue", message) }
    public static func failedToParse(_ message: String) -> Self { Self(code: 9, codeName: "FailedToParse", message) }
    public static func unauthorized(_ message: String) -> Self { Self(code: 13, codeName: "Unauthorized", message) }
    public static func typeMismatch(_ message: String) -> Self { Self(code: 14, codeName: "TypeMismatch", message) }
    /// MongoDB says only this, whatever went wrong, so that a failure reveals nothing.
    public static let authenticationFailed = Self(code: 18, codeName: "AuthenticationFailed", "Authentication failed.")
    public static func namespaceNotFound(_ message: String) -> Self { Self(code: 26, codeName: "NamespaceNotFound", message) }
    public static func cursorNotFound(_ id: Int64) -> Self {
        Self(code: 43, codeName: "CursorNotFound", "cursor id \(id) not found (it was exhausted, killed, or idle past the cursor timeout)")
    }
    public static func commandNotFound(_ name: String) -> Self {
        Self(code: 59, codeName: "CommandNotFound", "no such command: '\(name)'; Ferry's MongoDB endpoint is read-only and serves queries (find, aggregate, count, distinct, getMore…)")
    }
    public static func invalidOptions(_ message: String) -> Self { Self(code: 72, codeName: "InvalidOptions", message) }
    public static func mechanismUnavailable(_ mechanism: String) -> Self {
        Self(code: 334, codeName: "MechanismUnavailable", "Received authentication for mechanism \(mechanism) which is not enabled; use SCRAM-SHA-256")
    }
    public static func exceededMemoryLimit(_ message: String) -> Self {
        Self(code: 292, codeName: "QueryExceededMemoryLimitNoDiskUseAllowed", message)
    }
}
