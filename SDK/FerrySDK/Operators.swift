import FerryBSON

/// A plugin-provided MQL accumulator's running state (for `$group` and window functions).
public protocol Accumulator: AnyObject {
    func add(_ value: BSON) throws
    /// Folds another partial state of the same operator into this one.
    func merge(_ other: Accumulator) throws
    func finalize() throws -> BSON
}

/// An MQL operator a plugin adds to the engine.
public struct OperatorRegistration: Sendable {
    public enum Implementation: Sendable {
        /// `{"$name": <argument>}` → value, given the evaluated argument. Must be a pure function.
        case expression(@Sendable (BSON) throws -> BSON)
        /// A state per group, created from the operator's argument.
        case accumulator(@Sendable (BSON) throws -> any Accumulator)
        /// A whole stage: the stage's spec and a batch of documents in, a batch out.
        case stage(@Sendable (BSON, [BSONDocument]) throws -> [BSONDocument])
    }

    public var name: String
    public var implementation: Implementation
    /// Checks the operator's argument when a pipeline is created, before any document flows.
    public var validate: (@Sendable (BSON) throws -> Void)?

    /// `name` includes the dollar sign, e.g. "$lttb".
    public init(name: String, validate: (@Sendable (BSON) throws -> Void)? = nil, _ implementation: Implementation) {
        self.name = name
        self.implementation = implementation
        self.validate = validate
    }
}
