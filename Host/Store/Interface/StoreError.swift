/// Why a store operation failed: what went wrong, where, and what to do about it. The gRPC layer
/// maps `kind` to a status code and shows `description` to the user.
public struct StoreError: Error, CustomStringConvertible, Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// The caller passed something the store cannot accept (maps to INVALID_ARGUMENT).
        case invalidArgument
        /// A referenced organisation, key, pipeline or object does not exist (NOT_FOUND).
        case notFound
        /// Something of that name exists already, e.g. a dataset name in its organisation (ALREADY_EXISTS).
        case alreadyExists
        /// A TabularDataBySQL query tried something the sandbox forbids (PERMISSION_DENIED).
        case sqlRefused
        /// A TabularDataBySQL query is not valid SQL or failed while running (INVALID_ARGUMENT).
        case sqlFailed
        /// A query ran past its work budget or result-size limit (RESOURCE_EXHAUSTED).
        case resourceExhausted
        /// The database or the file system failed (INTERNAL / UNAVAILABLE).
        case storage
    }

    public var kind: Kind
    /// What went wrong and what to do, in one or two sentences.
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    package static func invalid(_ message: String) -> StoreError { StoreError(.invalidArgument, message) }
    /// A failure of the backend itself while doing `what`, with the backend's advice on what to check.
    package static func storage(_ what: String, _ error: any Error, advice: String) -> StoreError {
        StoreError(.storage, "\(what) failed: \(error). \(advice)")
    }
}
