import FerryBSON
import FerryLoader
import FerryMQL

/// Makes the MQL operators that loaded plugins registered usable in pipelines: each becomes an
/// entry of the engine's operator registry that calls the plugin through the C ABI.
extension MQLOperatorRegistry {
    /// The built-in operators plus every operator the plugins in `plugins` registered.
    package init(plugins: PluginRegistry) throws {
        self.init()
        for op in plugins.operators.sorted(by: { $0.name < $1.name }) {
            let validate: @Sendable (BSON) throws -> Void = { spec in try op.validate(spec) }
            switch op.kind {
            case .expression:
                try register(MQLExpressionOperator(name: op.name, validate: validate) { try op.evaluate($0) })
            case .accumulator:
                try register(
                    MQLAccumulatorOperator(name: op.name, validate: validate) { spec in
                        PluginAccumulatorState(try op.makeAccumulator(spec: spec))
                    })
            case .stage:
                try register(MQLStageOperator(name: op.name, validate: validate) { try op.runStage(spec: $0, documents: $1) })
            }
        }
    }
}

/// A plugin accumulator's state as the engine sees it.
final class PluginAccumulatorState: MQLAccumulatorState {
    let accumulator: PluginAccumulator
    init(_ accumulator: PluginAccumulator) { self.accumulator = accumulator }

    func add(_ value: BSON) throws { try accumulator.add(value) }

    func merge(_ other: any MQLAccumulatorState) throws {
        guard let other = other as? PluginAccumulatorState else {
            throw PluginCallError(status: .invalidArgument, message: "cannot merge a state of another accumulator")
        }
        try accumulator.merge(other.accumulator)
    }

    func finalize() throws -> BSON { try accumulator.finalize() }
}
