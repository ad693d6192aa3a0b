import FerryBSON

/// A third-party expression operator: `{$name: <argument>}`. The argument is evaluated first
/// (an array argument element by element, missing values as null), then handed to `evaluate`.
public struct MQLExpressionOperator: Sendable {
    public let name: String
    /// Checks the unevaluated argument when a pipeline is created. Throw to refuse it.
    public let validate: (@Sendable (BSON) throws -> Void)?
    /// Computes the value. Must be pure and safe to call from several threads at once.
    public let evaluate: @Sendable (BSON) throws -> BSON

    public init(name: String, validate: (@Sendable (BSON) throws -> Void)? = nil, evaluate: @escaping @Sendable (BSON) throws -> BSON) {
        self.name = name
        self.validate = validate
        self.evaluate = evaluate
    }
}

/// The running state of a third-party accumulator for one group or window.
/// One state is used by one thread at a time.
public protocol MQLAccumulatorState: AnyObject {
    /// Folds in one evaluated input (missing inputs arrive as null).
    func add(_ value: BSON) throws
    /// Folds in another state of the same accumulator (a partial aggregate); `other` is
    /// discarded afterwards.
    func merge(_ other: any MQLAccumulatorState) throws
    /// The accumulated value. May be called more than once.
    func finalize() throws -> BSON
}

/// A third-party accumulator, usable in `$group`, `$bucket`, `$bucketAuto` and
/// `$setWindowFields`: `{field: {$name: <argument>}}`. The argument is an expression evaluated
/// per document.
public struct MQLAccumulatorOperator: Sendable {
    public let name: String
    /// Checks the unevaluated argument when a pipeline is created.
    public let validate: (@Sendable (BSON) throws -> Void)?
    /// A fresh state, given the unevaluated argument.
    public let makeState: @Sendable (BSON) throws -> any MQLAccumulatorState

    public init(
        name: String, validate: (@Sendable (BSON) throws -> Void)? = nil,
        makeState: @escaping @Sendable (BSON) throws -> any MQLAccumulatorState
    ) {
        self.name = name
        self.validate = validate
        self.makeState = makeState
    }
}

/// A third-party stage: `{$name: <spec>}`. It receives every document that reaches it as one
/// batch and returns its output batch.
public struct MQLStageOperator: Sendable {
    public let name: String
    /// Checks the spec when a pipeline is created.
    public let validate: (@Sendable (BSON) throws -> Void)?
    /// Runs the stage over its whole input.
    public let run: @Sendable (_ spec: BSON, _ documents: [BSONDocument]) throws -> [BSONDocument]

    public init(
        name: String, validate: (@Sendable (BSON) throws -> Void)? = nil,
        run: @escaping @Sendable (_ spec: BSON, _ documents: [BSONDocument]) throws -> [BSONDocument]
    ) {
        self.name = name
        self.validate = validate
        self.run = run
    }
}

/// The operators a pipeline may use beyond the built-in ones. The host fills one at start-up
/// (plugins register through it) and passes it to every `MQLPipeline` it creates.
public struct MQLOperatorRegistry: Sendable {
    public private(set) var expressions: [String: MQLExpressionOperator] = [:]
    public private(set) var accumulators: [String: MQLAccumulatorOperator] = [:]
    public private(set) var stages: [String: MQLStageOperator] = [:]

    public init() {}

    /// Only the built-in operators.
    public static var builtin: MQLOperatorRegistry { MQLOperatorRegistry() }

    public mutating func register(_ op: MQLExpressionOperator) throws {
        try checkName(op.name, builtin: BuiltinExpressions.table.keys.contains(op.name), taken: expressions[op.name] != nil)
        expressions[op.name] = op
    }

    public mutating func register(_ op: MQLAccumulatorOperator) throws {
        try checkName(op.name, builtin: BuiltinAccumulators.names.contains(op.name), taken: accumulators[op.name] != nil)
        accumulators[op.name] = op
    }

    public mutating func register(_ op: MQLStageOperator) throws {
        try checkName(op.name, builtin: StageCompiler.builtinNames.contains(op.name), taken: stages[op.name] != nil)
        stages[op.name] = op
    }

    /// Whether `name` is free for a new operator of any kind.
    private func checkName(_ name: String, builtin: Bool, taken: Bool) throws {
        let scalars = Array(name.unicodeScalars)
        let valid = scalars.count >= 2 && scalars[0] == "$" && scalars[1].properties.isAlphabetic
            && scalars.dropFirst().allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_") }
        guard valid else {
            throw MQLError(operatorName: name, message: "operator name '\(name)' is malformed: it must be '$' followed by a letter and then letters, digits or '_'")
        }
        if builtin { throw MQLError(operatorName: name, message: "operator \(name) is built in and cannot be replaced") }
        if taken { throw MQLError(operatorName: name, message: "operator \(name) is already registered") }
    }
}
