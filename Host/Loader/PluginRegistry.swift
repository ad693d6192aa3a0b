import CFerryPlugin
import FerryBSON
import Foundation
import Logging
import Synchronization

/// What `ferry plugin inspect` shows about one loaded library.
package struct PluginInfo: Sendable, Equatable {
    package var path: String
    package var name: String
    package var version: String
    package var abiMajor: Int
    package var abiMinor: Int
    /// (api, model, capture methods)
    package var models: [ModelSummary]
    package var operators: [OperatorSummary]
}

package struct ModelSummary: Sendable, Equatable {
    package var api: String
    package var model: String
    package var captureMethods: [String]
    package var threadSafe: Bool
}

package struct OperatorSummary: Sendable, Equatable {
    package var name: String
    package var kind: RegisteredOperator.Kind
}

package struct ModelKey: Hashable, Sendable, CustomStringConvertible {
    package var api: String
    package var model: String
    package init(api: String, model: String) {
        self.api = api
        self.model = model
    }
    package var description: String { "\(api) \(model)" }
}

/// Every plugin library loaded into this process and what they registered. Loading happens on the
/// control thread; lookups may come from any thread.
package final class PluginRegistry: Sendable {
    struct State {
        var plugins: [PluginInfo] = []
        var loadedPaths: Set<String> = []
        var models: [ModelKey: RegisteredModel] = [:]
        var operators: [String: RegisteredOperator] = [:]
        /// Libraries loaded on first use, by path: the models and operators each provides.
        var onFirstUse: [String: (models: Set<ModelKey>, operators: Set<String>)] = [:]
        var syncRequestHandler: (@Sendable () -> Void)?
        var resourceCapture: ResourceCapture?
    }

    /// Runs a capture method of the machine's resource with that name (ABI 1.2's capture_resource).
    public typealias ResourceCapture = @Sendable (_ name: String, _ method: String, _ parameters: BSONDocument) throws(PluginCallError) ->
        CapturedValue
    let state = Mutex(State())
    private let firstUseLoads = Mutex(())
    let logger: Logger

    package init(logger: Logger = Logger(label: "ferry.loader")) {
        self.logger = logger
    }

    package var plugins: [PluginInfo] { state.withLock { $0.plugins } }

    /// What a plugin's `request_sync` does; nil (the default) answers FERRY_UNSUPPORTED.
    package var syncRequestHandler: (@Sendable () -> Void)? {
        get { state.withLock { $0.syncRequestHandler } }
        set { state.withLock { $0.syncRequestHandler = newValue } }
    }
    /// What a plugin's capture_resource does; nil (the default) answers FERRY_UNSUPPORTED.
    package var resourceCapture: ResourceCapture? {
        get { state.withLock { $0.resourceCapture } }
        set { state.withLock { $0.resourceCapture = newValue } }
    }
    /// The models and operators of the libraries loaded so far.
    package var models: [RegisteredModel] { state.withLock { Array($0.models.values) } }
    package var operators: [RegisteredOperator] { state.withLock { Array($0.operators.values) } }

    /// A model, loading the library that provides it first if it is one loaded on first use.
    package func model(api: String, model: String) -> RegisteredModel? {
        let key = ModelKey(api: api, model: model)
        return lookUp { $0.models[key] } provider: { $0.models.contains(key) }
    }

    /// An MQL operator, loading the library that provides it first if it is one loaded on first use.
    package func `operator`(named name: String) -> RegisteredOperator? {
        lookUp { $0.operators[name] } provider: { $0.operators.contains(name) }
    }

    /// Libraries to load only when one of their models or operators is first looked up: what
    /// each provides was learned without loading it here (`ferry plugin inspect` in a child
    /// process), so a host maps only the plugins its config uses.
    package func loadOnFirstUse(path: String, models: [ModelKey], operators: [String]) {
        let path = URL(fileURLWithPath: path).standardizedFileURL.path
        state.withLock { state in
            guard !state.plugins.contains(where: { $0.path == path }) else { return }
            state.onFirstUse[path] = (Set(models), Set(operators))
        }
    }

    /// The model names for `api`, of loaded libraries and of those loaded on first use.
    package func modelNames(api: String) -> [String] {
        state.withLock { state in
            Set(state.models.keys.filter { $0.api == api }.map(\.model) + state.onFirstUse.values.flatMap(\.models).filter { $0.api == api }.map(\.model))
        }.sorted()
    }

    private func lookUp<Found: Sendable>(
        _ find: (State) -> Found?, provider: ((models: Set<ModelKey>, operators: Set<String>)) -> Bool
    ) -> Found? {
        if let found = state.withLock({ find($0) }) { return found }
        // One first-use load at a time: a lookup racing another finds the library loaded.
        return firstUseLoads.withLock { _ in
            if let found = state.withLock({ find($0) }) { return found }
            let path: String? = state.withLock { state in
                guard let path = state.onFirstUse.first(where: { provider($0.value) })?.key else { return nil }
                state.onFirstUse[path] = nil
                return path
            }
            guard let path else { return nil }
            load(paths: [path])  // logged like every load; a failure leaves the model unknown
            return state.withLock { find($0) }
        }
    }

    /// Loads one library (a second load of the same file is a no-op returning its info).
    @discardableResult
    package func load(path: String) throws(LoadError) -> PluginInfo {
        let path = URL(fileURLWithPath: path).standardizedFileURL.path
        if let existing = state.withLock({ $0.plugins.first { $0.path == path } }) { return existing }
        return try PluginLoader.load(path: path, into: self)
    }

    /// Loads every library given, logging each failure on one line and carrying on without it.
    /// Returns the failures.
    @discardableResult
    package func load(paths: [String]) -> [LoadError] {
        var failures: [LoadError] = []
        for path in paths {
            do {
                let info = try load(path: path)
                logger.info("loaded plugin \(info.name) \(info.version) from \(info.path): \(info.models.count) models, \(info.operators.count) MQL operators")
            } catch {
                logger.error("\(error.description)")
                failures.append(error)
            }
        }
        return failures
    }

    /// Commits what one plugin registered during its init, all or nothing.
    func commit(info: PluginInfo, models: [RegisteredModel], operators: [RegisteredOperator]) throws(LoadError) {
        try state.withLock { (state) throws(LoadError) in
            for model in models {
                if let owner = state.models[ModelKey(api: model.api, model: model.model)] {
                    throw LoadError(path: info.path, reason: .duplicate(what: "model \(model.api) \(model.model)", registeredBy: owner.pluginPath))
                }
            }
            for op in operators {
                if let owner = state.operators[op.name] {
                    throw LoadError(path: info.path, reason: .duplicate(what: "MQL operator \(op.name)", registeredBy: owner.pluginPath))
                }
            }
            for model in models { state.models[ModelKey(api: model.api, model: model.model)] = model }
            for op in operators { state.operators[op.name] = op }
            state.plugins.append(info)
        }
    }

    /// Who registered a model already, for refusing duplicates during a plugin's init.
    func owner(of key: ModelKey) -> String? { state.withLock { $0.models[key]?.pluginPath } }
    func owner(ofOperator name: String) -> String? { state.withLock { $0.operators[name]?.pluginPath } }
}
