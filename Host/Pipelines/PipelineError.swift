/// A pipeline operation the caller asked for that cannot be done: what, and what to do instead.
/// The gRPC layer maps `kind` to a status code; the CLI prints `message`.
public struct PipelineError: Error, CustomStringConvertible, Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case invalidArgument
        case notFound
        /// Someone else kept changing the pipeline at the same time; try again.
        case conflict
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    static func invalid(_ message: String) -> PipelineError { PipelineError(.invalidArgument, message) }
}
