import FerryConfig
import FerrySystem
import Foundation

/// One registry module's state on the machine (control queue only).
struct RegistryModuleState {
    var entry: ModuleEntry
    /// Raised when the config's entry changes, so an answer to an older request is ignored.
    var generation = 0
    var inFlight = false
    var failures = 0
    /// Monotonic nanoseconds of the next attempt, if one is scheduled.
    /// On the clock's monotonic `uptime()`.
    var retryAt: Duration?
    var lastError: String?
    /// The version whose library this process has loaded (never unloaded).
    var loaded: (version: String, library: String)?

    var pin: String { entry.version ?? "latest" }
    var label: String { "\(entry.path) (\(entry.name): \(entry.moduleID ?? "") \(pin))" }
}

/// Registry modules: asked of the supplier off the control queue, loaded when supplied, retried
/// with backoff when they cannot be had, checked again when a cached version stands in for an
/// unreachable registry, and re-asked when the config's `version` changes. Nothing here waits:
/// the rest of the machine runs meanwhile, and a module's components start once it loads.
extension Machine {
    func syncRegistryModules(_ entries: [ModuleEntry]) {
        var wanted: [String: ModuleEntry] = [:]
        for entry in entries { if let id = entry.moduleID { wanted[id] = entry } }
        // A module gone from the config stops being tracked; its library stays loaded.
        for id in registryModules.keys where wanted[id] == nil { registryModules[id] = nil }
        for (id, entry) in wanted.sorted(by: { $0.key < $1.key }) {
            if var state = registryModules[id] {
                let changed = state.entry.version != entry.version
                state.entry = entry
                if changed {
                    state.generation += 1
                    state.failures = 0
                    registryModules[id] = state
                    logger.info("\(state.label): the version pin changed; resolving it")
                    requestModule(id)
                } else {
                    registryModules[id] = state
                }
            } else {
                registryModules[id] = RegistryModuleState(entry: entry)
                requestModule(id)
            }
        }
    }

    /// Modules not loaded yet, for messages about components that wait for them.
    var modulesNotLoaded: String {
        registryModules.values.filter { $0.loaded == nil }.map { "\($0.entry.moduleID ?? "") (\($0.inFlight ? "installing" : $0.lastError == nil ? "pending" : "failing"))" }
            .sorted().joined(separator: ", ")
    }

    func retryDueModules() {
        let now = options.clock.uptime()
        for (id, state) in registryModules.sorted(by: { $0.key < $1.key }) where !state.inFlight {
            if let at = state.retryAt, now >= at { requestModule(id) }
        }
    }

    func requestModule(_ id: String) {
        guard var state = registryModules[id] else { return }
        guard let supplier = options.modules else {
            let message = "no registry is set up for registry modules; start ferry run with --registry REGISTRY --trust KEY.pub (or set FERRY_REGISTRY and FERRY_REGISTRY_TRUST, or the data manager's ferry.registry and ferry.registry_trust)"
            if state.lastError != message { logger.error("\(configPath): \(state.label): \(message); its components are not started") }
            state.lastError = message
            registryModules[id] = state
            return
        }
        state.inFlight = true
        state.retryAt = nil
        registryModules[id] = state
        let generation = state.generation
        let pin = state.pin
        Task.detached { [self] in
            let supply = await supplier.supply(moduleID: id, pin: pin)
            control.async { self.moduleSupplied(id, generation: generation, supply) }
        }
    }

    private func moduleSupplied(_ id: String, generation: Int, _ supply: ModuleSupply) {
        // An answer to a request the config has since replaced (or after stop) is dropped; the
        // newer request answers for itself.
        guard var state = registryModules[id], state.generation == generation else { return }
        state.inFlight = false
        defer { registryModules[id] = state }
        func scheduleRetry() -> Duration {
            state.failures += 1
            let delay = options.moduleBackoff.delay(afterFailures: state.failures)
            state.retryAt = options.clock.uptime() + delay
            return delay
        }
        switch supply {
        case .failed(let message):
            let delay = scheduleRetry()
            state.lastError = message
            logger.error("\(configPath): \(state.label): \(message); its components wait, retrying in \(Self.seconds(delay))")
        case .ready(let library, let version, let offline):
            if let offline {
                let delay = scheduleRetry()
                logger.warning("\(state.label): the registry cannot be used now (\(offline)); running the cached version \(version), trying the registry again in \(Self.seconds(delay))")
            } else {
                state.failures = 0
                state.retryAt = nil
            }
            state.lastError = nil
            if let loaded = state.loaded {
                guard loaded.version != version else { return }
                logger.notice("\(state.label): \(id) \(version) is installed while \(loaded.version) is loaded; plugins are never unloaded, so ferry restarts to load it")
                if let restart = options.restart {
                    let reason = "\(id) \(loaded.version) → \(version)"
                    DispatchQueue.global().async { restart(self, reason) }
                } else {
                    logger.error("\(state.label): restart ferry run to use \(id) \(version)")
                }
                return
            }
            if let failure = load(library: library, entry: state.entry, context: "\(state.label): \(id) \(version)") {
                let delay = scheduleRetry()
                state.lastError = failure
                logger.error("\(configPath): \(state.label): \(failure); retrying in \(Self.seconds(delay))")
                return
            }
            state.loaded = (version, library)
            registryModules[id] = state
            guard let config else { return }
            do {
                try apply(config)
            } catch {
                logger.error("\(configPath): with \(id) \(version) loaded the config no longer holds: \(error); its components are not started")
            }
        }
    }

    /// Loads a registry module's library here, or starts it in a process of its own (the
    /// default for registry modules). Returns why it did not.
    private func load(library: String, entry: ModuleEntry, context: String) -> String? {
        if entry.runsIsolated(isolateAll: options.isolateAll), options.pluginHost != nil {
            return startIsolated(library: library, entry: entry)
        }
        do {
            let info = try registry.load(path: library)
            logger.info("loaded plugin \(info.name) \(info.version) from \(library) (\(context))")
            return nil
        } catch {
            return "\(error)"
        }
    }

    static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        return "\(oneDecimal(Double(seconds) + Double(attoseconds) / 1e18)) s"
    }

    /// Each registry module's state, for tests and status output.
    public var registryModuleStates: [String: (loaded: String?, error: String?, failures: Int)] {
        control.sync { registryModules.mapValues { ($0.loaded?.version, $0.lastError, $0.failures) } }
    }
}
