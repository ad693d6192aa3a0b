import CFerryPlugin
import FerryBSON
import Foundation
import Logging
import Synchronization

/// What `ferry plugin inspect` shows about one loaded library.
public struct PluginInfo: Sendable, Equatable {
    public var path: String
    public var name: String
    public var version: String
    public var abiMajor: Int
    public var abiMinor: Int
    /// (api, model, capture methods)
    public var models: [ModelSummary]
    public var operators: [OperatorSummary]
}

public struct ModelSummary: Sendable, Equatable {
    public var api: String
    public var model: String
    public var captureMethods: [String]
    public var threadSafe: Bool
}

public struct OperatorSummary: Sendable, Equatable {
    public var name: String
    public var kind: RegisteredOperator.Kind
}

public struct ModelKey: Hashable, Sendable, CustomStringConvertible {
    public var api: String
    public var model: String
    public init(api: String, model: String) {
        self.api = api
        self.model = model
    }
    public var description: String { "\(api) \(model)" }
}

/// Every plugin library loaded into this process and what they registered. Loading happens on the
/// control thread; lookups may come from any thread.
public final class PluginRegistry: Sendable {
    struct State {
        var plugins: [PluginInfo] = []
        var loadedPaths: Set<String> = []
        var models: [ModelKey: RegisteredModel] = [:]
        var operators: [String: RegisteredOperator] = [:]
        var syncRequestHandler: (@Sendable () -> Void)?
        var resourceCapture: ResourceCapture?
    }

    /// Runs a capture method of the machine's resource with that name (ABI 1.2's capture_resource).
    public typealias ResourceCapture = @Sendable (_ name: String, _ method: String, _ parameters: BSONDocument) throws(PluginCallError) ->
        CapturedValue
    let state = Mutex(State())
    let logger: Logger

    public init(logger: Logger = Logger(label: "ferry.loader")) {
        self.logger = logger
    }

    public var plugins: [PluginInfo] { state.withLock { $0.plugins } }

    /// What a plugin's `request_sync` does; nil (the default) answers FERRY_UNSUPPORTED.
    public var syncRequestHandler: (@Sendable () -> Void)? {
        get { state.withLock { $0.syncRequestHandler } }
        set { state.withLock { $0.syncRequestHandler = newValue } }
    }
    /// What a plugin's capture_resource does; nil (the default) answers FERRY_UNSUPPORTED.
    public var resourceCapture: ResourceCapture? {
        get { state.withLock { $0.resourceCapture } }
        set { state.withLock { $0.resourceCapture = newValue } }
    }
    public var models: [RegisteredModel] { state.withLock { Array($0.models.values) } }
    public var operators: [RegisteredOperator] { state.withLock { Array($0.operators.values) } }

    public func model(api: String, model: String) -> RegisteredModel? {
        state.withLock { $0.models[ModelKey(api: api, model: model)] }
    }

    public func `operator`(named name: String) -> RegisteredOperator? {
        state.withLock { $0.operators[name] }
    }

    /// Loads one library (a second load of the same file is a no-op returning its info).
    @discardableResult
    public func load(path: String) throws(LoadError) -> PluginInfo {
        let path = URL(fileURLWithPath: path).standardizedFileURL.path
        if let existing = state.withLock({ $0.plugins.first { $0.path == path } }) { return existing }
        return try PluginLoader.load(path: path, into: self)
    }

    /// Loads every library given, logging each failure on one line and carrying on without it.
    /// Returns the failures.
    @discardableResult
    public func load(paths: [String]) -> [LoadError] {
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
