import FerryBSON
import FerryConfig
import FerryLoader

/// A config checked against the loaded plugins: which components can run, with which collectors.
struct MachinePlan {
    struct Component: Equatable {
        var entry: ComponentEntry
        var collectors: [CollectorPlan]
    }
    struct CollectorPlan: Equatable {
        var method: String
        var frequencyHz: Double
        var parameters: BSONDocument
    }

    struct Remote: Equatable {
        var entry: RemoteEntry
        var collectors: [RemoteCollectorPlan]
    }
    struct RemoteCollectorPlan: Equatable {
        var api: String
        var resource: String
        var method: String
        var frequencyHz: Double
        var parameters: BSONDocument
    }

    /// Components and services (other than the data manager) whose model a plugin provides.
    var components: [Component]
    var remotes: [Remote] = []
    /// Components whose model no loaded plugin provides: skipped, with the reason.
    var unavailable: [(path: String, message: String)]

    /// Checks every capture method against its model. A method the model lacks is a config error
    /// (the whole config is refused); a model nobody provides skips only that component, so a
    /// broken plugin never keeps the rest of the machine from running.
    static func make(
        config: MachineConfig, models catalog: any ModelCatalog, remotes connector: (any RemoteConnector)? = nil
    ) throws(ConfigError) -> MachinePlan {
        var faults: [ConfigError.Fault] = []
        var components: [Component] = []
        var unavailable: [(String, String)] = []
        for entry in config.components + config.services {
            guard let model = catalog.componentModel(api: entry.api, model: entry.model) else {
                let known = catalog.modelNames(api: entry.api)
                let hint = known.isEmpty ? "no loaded plugin provides any \(entry.api) model" : "models loaded for \(entry.api): \(known.joined(separator: ", "))"
                unavailable.append(("\(entry.path).model", "no loaded plugin provides \(entry.api) model \(entry.model) (\(hint)); \"\(entry.name)\" is not started"))
                continue
            }
            var collectors: [CollectorPlan] = []
            for method in entry.captureMethods {
                guard model.captureMethods.contains(method.method) else {
                    faults.append(
                        .init(
                            path: "\(method.path).method",
                            message: "\"\(method.method)\" is not a capture method of \(entry.api) model \(entry.model); it has \(model.captureMethods.joined(separator: ", "))"))
                    continue
                }
                guard !method.disabled, method.frequencyHz > 0, !config.dataManager.captureDisabled else { continue }
                collectors.append(CollectorPlan(method: method.method, frequencyHz: method.frequencyHz, parameters: method.additionalParams))
            }
            components.append(Component(entry: entry, collectors: collectors))
        }
        var remotes: [Remote] = []
        for entry in config.remotes {
            var collectors: [RemoteCollectorPlan] = []
            for method in entry.captureMethods {
                guard let connector else {
                    faults.append(.init(path: method.path, message: "this host cannot capture from remote parts"))
                    continue
                }
                if let problem = connector.problem(api: method.api, method: method.method, parameters: method.additionalParams) {
                    faults.append(.init(path: "\(method.path).method", message: problem))
                    continue
                }
                guard !method.disabled, method.frequencyHz > 0, !config.dataManager.captureDisabled else { continue }
                collectors.append(
                    RemoteCollectorPlan(
                        api: method.api, resource: method.resource, method: method.method, frequencyHz: method.frequencyHz,
                        parameters: method.additionalParams))
            }
            remotes.append(Remote(entry: entry, collectors: collectors))
        }
        guard faults.isEmpty else { throw ConfigError(faults: faults) }
        return MachinePlan(components: components, remotes: remotes, unavailable: unavailable)
    }
}
