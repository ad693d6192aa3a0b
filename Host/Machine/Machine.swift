import Dispatch
import FerryBSON
import FerryCapture
import FerryCaptureFile
import FerryClock
import FerryConfig
import FerryIsolation
import FerryLoader
import FerryMongoClient
import Foundation
import Logging
import Synchronization

/// The running host: plugins loaded, component instances created from the config, one collector
/// per capture method, and the config file watched so edits apply without a restart. All control
/// work (start, reload, retry, stop) runs on one serial control queue.
package final class Machine: @unchecked Sendable {
    // @unchecked: every mutable field below is touched only on `control` (a serial queue), except
    // `instancesByName` and `published`, which are behind their own mutexes.
    package struct Options: Sendable {
        package var clock: any FerryClock = SystemClock()
        package var fileSystem: any CaptureFileSystem = POSIXCaptureFileSystem()
        /// How often the config file is checked for changes and failed components are retried.
        package var pollInterval: Duration = .seconds(1)
        /// Supplies `{"type": "registry"}` modules; nil reports them as needing a registry.
        package var modules: (any ModuleSupplier)?
        /// Waits between attempts at a module that cannot be had.
        package var moduleBackoff = ModuleBackoff()
        /// Called, off the control queue, when a module's new version is installed while another
        /// version of it is loaded: plugins are never unloaded, so the process must restart
        /// (`ferry run` stops gracefully and re-executes itself). nil only logs it.
        package var restart: (@Sendable (Machine, String) -> Void)?
        /// How remote parts are reached; nil refuses configs that capture from remotes.
        package var remotes: (any RemoteConnector)?
        /// The `ferry` binary whose `plugin-host` runs isolated plugins; nil (a host that cannot
        /// spawn one, such as a test process) loads every module in process, saying so.
        package var pluginHost: String?
        /// `ferry run --isolate-all`: every module in a process of its own, whatever its entry says.
        package var isolateAll = false
        /// Libraries to run isolated besides the config's modules (the built-ins under --isolate-all).
        package var isolatedLibraries: [String] = []
        /// How long a plugin process waits before a restart, after consecutive failures.
        package var restartBackoff = RestartBackoff()
        /// Where cgroup v2 is, for modules' `cpu_limit_percent`.
        package var cgroups = CgroupCPU.Paths()
        /// Models served besides the plugins' (consulted after them); tests script models here.
        package var extraModels: (any ModelCatalog & Sendable)?
        package init() {}
    }

    struct RunningComponent {
        var entry: ComponentEntry
        var instance: any ComponentInstance
        var collectors: [Collector.Key: (plan: MachinePlan.CollectorPlan, collector: Collector, writer: CaptureFileWriter)]
    }

    struct RunningRemote {
        var entry: RemoteEntry
        var part: any RemotePart
        var collectors: [Collector.Key: (plan: MachinePlan.RemoteCollectorPlan, collector: Collector, writer: CaptureFileWriter)]
    }

    package let configPath: String
    package let registry: PluginRegistry
    let options: Options
    let logger: Logger
    let control = DispatchQueue(label: "ferry.machine.control")
    /// The data manager's `mongo_capture_config`: tabular readings also go to MongoDB.
    let mongoCapture: MongoCaptureMirror
    /// The cgroups that limit plugin processes' CPU (set up at the first module asking for a limit).
    let cpuLimits: CgroupCPU

    var config: MachineConfig? {
        didSet { published.withLock { $0.config = config } }
    }
    /// Registry modules by module id (control queue only).
    var registryModules: [String: RegistryModuleState] = [:]
    /// Plugins running in processes of their own, by library path, and the models they serve
    /// (control queue only).
    var isolatedModules: [String: IsolatedModule] = [:]
    var isolatedModels: [ModelKey: IsolatedModel] = [:]
    private var components: [String: RunningComponent] = [:]
    /// Components whose create runs off the control queue (a plugin process's create may take
    /// until its deadline, and reloads, retries and other components must not wait for it), with
    /// the plan wanted when it ends. Reconfigured meanwhile, the instance it made is closed and
    /// created again for the newest plan; removed meanwhile, it is closed.
    private var starting: [String: StartingComponent] = [:] {
        didSet { published.withLock { $0.starting = Set(starting.keys) } }
    }
    /// Numbers each asynchronous create, so the end of one that no longer counts is told apart.
    private var createAttempts = 0
    private struct StartingComponent {
        var attempt: Int
        /// The plan its create was started for.
        var created: MachinePlan.Component
        /// The plan wanted now.
        var plan: MachinePlan.Component
        var dataManager: DataManagerConfig
    }
    private var remotes: [String: RunningRemote] = [:]
    private var configStamp: FileStamp?
    private var watcher: (any RepeatingTimer)?
    private var captureDirLock: CaptureDirectoryLock?
    private var collectorMetrics = CollectorMetrics()
    private var pluginProcessMetrics = PluginProcessMetrics()
    /// The running instances by name, for a plugin's capture_resource. Behind its own lock, never the
    /// control queue: a capture asking for another resource must not wait for the control queue,
    /// which may itself be waiting for that capture (stopping its collector).
    private let instancesByName = Mutex<[String: (api: String, instance: any ComponentInstance)]>([:])
    /// What the machine API reads (config, when applied, why resources are not running), copied here
    /// on the control queue so a request never waits for that queue (busy reloading, or stopping a
    /// collector whose remote call is timing out).
    private struct Published {
        var config: MachineConfig?
        var appliedAt: Date?
        var failures: [String: String] = [:]
        var starting: Set<String> = []
    }
    private let published = Mutex(Published())
    private var failedComponents: [String: String] = [:] {
        didSet { published.withLock { $0.failures = failedComponents } }
    }

    package init(configPath: String, registry: PluginRegistry, options: Options = Options(), logger: Logger = Logger(label: "ferry.machine")) {
        self.configPath = configPath
        self.registry = registry
        self.options = options
        self.logger = logger
        self.mongoCapture = MongoCaptureMirror(logger: logger)
        cpuLimits = CgroupCPU(paths: options.cgroups, logger: logger)
    }

    /// Loads and applies the config, recovering interrupted capture files first. Throws when the
    /// config is invalid (nothing starts) or the capture directory is held by another host.
    package func start() throws {
        try control.sync {
            let config = try ConfigParser.load(file: configPath)
            logWarnings(config.warnings)
            captureDirLock = try CaptureDirectoryLock(captureDir: config.dataManager.captureDir)
            _ = CaptureRecovery.recover(captureDir: config.dataManager.captureDir, logger: logger)
            for library in options.isolatedLibraries { _ = startIsolated(library: library, entry: nil) }
            loadModules(config)
            registry.resourceCapture = { [weak self] (name: String, method: String, parameters: BSONDocument) throws(PluginCallError) -> CapturedValue in
                guard let instance = self?.instancesByName.withLock({ $0[name]?.instance }) else {
                    throw PluginCallError(status: .retryLater, message: "no resource named \"\(name)\" is running on this machine (yet)")
                }
                return try instance.capture(method: method, parameters: parameters)
            }
            try apply(config)
            configStamp = FileStamp(path: configPath)
        }
        // Made off the control queue, because the timer's first fire runs on it (at once, with a
        // manual clock, whose fires are synchronous).
        let timer = options.clock.repeatingTimer(queue: control, every: options.pollInterval) { [weak self] in self?.poll() }
        control.sync {
            if captureDirLock == nil { timer.cancel() } else { watcher = timer }  // nil: stopped meanwhile
        }
    }

    /// Re-reads the config file and applies the difference. An invalid new config is refused with
    /// its errors logged, and the old one keeps running. Returns the refusal, if any.
    @discardableResult
    package func reload() -> ConfigError? {
        control.sync { reloadOnControlQueue() }
    }

    /// Stops every collector (closing its files: `.prog` → `.capture`) and closes every instance.
    package func stop() {
        control.sync {
            watcher?.cancel()
            watcher = nil
            for name in components.keys.sorted() { stopComponent(name) }
            starting.removeAll()  // what those creates make is closed when they end
            for name in remotes.keys.sorted() { stopRemote(name) }
            registryModules.removeAll()  // answers still on their way are dropped
            for (_, module) in isolatedModules.sorted(by: { $0.key < $1.key }) { module.shutDown() }
            isolatedModules.removeAll()
            isolatedModels.removeAll()
            mongoCapture.configure(nil)
            captureDirLock = nil
        }
    }

    /// The data manager settings now in force (after any reload); nil before `start`.
    package var dataManager: DataManagerConfig? {
        published.withLock { $0.config?.dataManager }
    }

    /// A component's current Readings (the selective syncer's `should_sync`), or nil when the
    /// component is not running or does not answer.
    package func readings(of component: String) -> BSONDocument? {
        guard let instance = instancesByName.withLock({ $0[component]?.instance }) else { return nil }
        guard case .tabular(let document)? = try? instance.capture(method: "Readings", parameters: [:]) else { return nil }
        return document
    }

    /// When the config now in force was applied; nil before `start`.
    package var configLoadedAt: Date? {
        published.withLock { $0.appliedAt }
    }

    /// The machine API's keys now in force (after any reload); empty before `start`.
    package var apiKeys: [MachineAPIKey] {
        published.withLock { $0.config?.apiKeys ?? [] }
    }

    /// What the machine API lists: every resource in the config with its state.
    package struct ResourceState: Sendable, Equatable {
        package var api: String
        package var name: String
        /// nil when running; otherwise why it is not (its model is not loaded, its create failed).
        package var error: String?
    }

    /// Every component and service of the config, running or not (the data manager included).
    package var resources: [ResourceState] {
        let (config, failures, starting) = published.withLock { ($0.config, $0.failures, $0.starting) }
        let running = instancesByName.withLock { Set($0.keys) }
        guard let config else { return [] }
        var states = (config.components + config.services).map { entry in
            ResourceState(
                api: entry.api, name: entry.name,
                error: running.contains(entry.name)
                    ? nil : Self.notRunningReason(entry, starting: starting.contains(entry.name), failure: failures[entry.name]))
        }
        if let name = config.dataManager.serviceName {
            states.append(ResourceState(api: "rdk:service:data_manager", name: name, error: nil))
        }
        return states
    }

    /// Why a component of the config is not running: its create is under way, it failed, or no
    /// plugin provides its model.
    static func notRunningReason(_ entry: ComponentEntry, starting: Bool, failure: String?) -> String {
        if starting {
            return "starting: its create is running in its plugin process" + (failure.map { " (the last attempt failed: \($0))" } ?? "")
        }
        return failure ?? "no loaded plugin provides \(entry.api) model \(entry.model)"
    }

    /// The running instance of a resource, for the machine API; nil when it is not running.
    package func instance(api: String, name: String) -> (any ComponentInstance)? {
        instancesByName.withLock { $0[name].flatMap { $0.api == api ? $0.instance : nil } }
    }

    /// Finishes every collector's open capture file, so a sync takes everything captured so far.
    package func finishCaptureFiles() {
        let collectors = control.sync {
            components.values.flatMap { $0.collectors.values.map(\.collector) } + remotes.values.flatMap { $0.collectors.values.map(\.collector) }
        }
        for collector in collectors { collector.finishFile() }
    }

    /// Why the machine is not ready (`GET /readyz`): each configured component not running and
    /// each registry module not loaded, with the reason; empty when everything runs.
    package var notReady: [String] {
        control.sync {
            guard let config else { return ["no config applied yet (\(configPath))"] }
            var problems: [String] = []
            for entry in config.components where components[entry.name] == nil {
                let reason = Self.notRunningReason(entry, starting: starting[entry.name] != nil, failure: failedComponents[entry.name])
                problems.append("component \(entry.name): \(reason)")
            }
            for (id, state) in registryModules.sorted(by: { $0.key < $1.key }) where state.loaded == nil {
                problems.append("registry module \(id) \(state.pin): \(state.lastError ?? "being installed")")
            }
            for (_, module) in isolatedModules.sorted(by: { $0.key < $1.key }) {
                let status = module.status
                if !status.running { problems.append("\(module.label): its plugin process is down (it \(status.lastFailure ?? "failed")); restarting") }
            }
            return problems
        }
    }

    /// How `mongo_capture_config` is doing; nil when it is not configured.
    package var mongoCaptureStats: MongoCaptureStats? { mongoCapture.stats }

    /// Collector keys running now, with their stats.
    package var collectorStats: [Collector.Key: CollectorStats] {
        control.sync { currentCollectorStats() }
    }

    private func currentCollectorStats() -> [Collector.Key: CollectorStats] {
        var stats: [Collector.Key: CollectorStats] = [:]
        for component in components.values {
            for (key, running) in component.collectors { stats[key] = running.collector.stats }
        }
        for remote in remotes.values {
            for (key, running) in remote.collectors { stats[key] = running.collector.stats }
        }
        return stats
    }

    package var writerStats: [Collector.Key: CaptureWriterStats] {
        control.sync {
            var stats: [Collector.Key: CaptureWriterStats] = [:]
            for component in components.values {
                for (key, running) in component.collectors { stats[key] = running.writer.stats }
            }
            for remote in remotes.values {
                for (key, running) in remote.collectors { stats[key] = running.writer.stats }
            }
            return stats
        }
    }

    /// Where components' models come from: plugin processes first, then libraries loaded here.
    var models: any ModelCatalog { MachineModels(isolated: isolatedModels, registry: registry, extra: options.extraModels) }

    /// Each plugin process's state: running or not, restarts, the last failure.
    package var pluginProcesses: [IsolatedModule.Status] {
        control.sync { isolatedModules.keys.sorted().compactMap { isolatedModules[$0]?.status } }
    }

    /// The plugin processes running now (their MQL operators serve the embedded data server).
    package var isolatedPlugins: [IsolatedModule] {
        control.sync { isolatedModules.keys.sorted().compactMap { isolatedModules[$0] } }
    }

    /// Starts a library in a process of its own and records the models it serves. Returns why it
    /// did not start, logged already; nil on success or when it runs already.
    func startIsolated(library: String, entry: ModuleEntry?) -> String? {
        let library = URL(fileURLWithPath: library).standardizedFileURL.path
        if isolatedModules[library] != nil { return nil }
        guard let executable = options.pluginHost else { return "no plugin host" }
        var moduleOptions = IsolatedModule.Options()
        moduleOptions.clock = options.clock
        moduleOptions.backoff = options.restartBackoff
        moduleOptions.host = registry
        if let timeout = entry?.callTimeout { moduleOptions.callTimeout = timeout }
        if let timeout = entry?.createTimeout { moduleOptions.createTimeout = timeout }
        let label = entry.map { "module \($0.name) (\(library))" } ?? "plugin \(library)"
        var launch = PluginProcess.Launch(executable: executable, library: library, memoryLimitMB: entry?.memoryLimitMB)
        if let entry, let percent = entry.cpuLimitPercent {
            (launch.cgroup, moduleOptions.cpuLimit) = cpuLimits.limit(percent: percent, module: entry.name, label: label)
        }
        let module = IsolatedModule(launch: launch, label: label, options: moduleOptions, logger: logger)
        do throws(PluginCallError) {
            try module.start()
        } catch {
            logger.error("\(entry.map { "\($0.path) (\($0.name))" } ?? library): cannot start its plugin process: \(error.message)")
            if let group = launch.cgroup { CgroupCPU.remove(group: group) }
            return error.message
        }
        isolatedModules[library] = module
        for model in module.models {
            let key = ModelKey(api: model.api, model: model.model)
            if let owner = isolatedModels[key]?.module.launch.library ?? registry.model(api: model.api, model: model.model)?.pluginPath {
                logger.error("\(label): model \(key) is already provided by \(owner); this one is not used")
                continue
            }
            isolatedModels[key] = model
        }
        let name = module.pluginName.map { "\($0.name) \($0.version)" } ?? "?"
        logger.info("loaded plugin \(name) from \(library) into a process of its own (pid \(module.status.pid ?? 0), \(module.models.count) models; \(label))")
        return nil
    }

    // MARK: - Control queue

    private func reloadOnControlQueue() -> ConfigError? {
        configStamp = FileStamp(path: configPath)
        let newConfig: MachineConfig
        do {
            newConfig = try ConfigParser.load(file: configPath)
            if let old = config, old.dataManager.captureDir != newConfig.dataManager.captureDir {
                throw ConfigError(file: configPath, path: "services.data_manager.attributes.capture_dir", "changing capture_dir needs a restart of ferry run")
            }
            loadModules(newConfig)
            let previousWarnings = config?.warnings ?? []
            try apply(newConfig)
            logWarnings(newConfig.warnings.filter { !previousWarnings.contains($0) })
        } catch let error as ConfigError {
            logger.error("config change refused, the previous config keeps running: \(error)")
            return error
        } catch {
            logger.error("config change refused, the previous config keeps running: \(error)")
            return ConfigError(file: configPath, path: "", "\(error)")
        }
        logger.info("config reloaded from \(configPath)")
        return nil
    }

    /// One line per key Ferry accepts without acting on it.
    private func logWarnings(_ warnings: [ConfigWarning]) {
        for warning in warnings { logger.warning("\(configPath): \(warning)") }
    }

    private func loadModules(_ config: MachineConfig) {
        for module in config.modules {
            switch module.kind {
            case .local where module.runsIsolated(isolateAll: options.isolateAll) && options.pluginHost != nil:
                _ = startIsolated(library: module.executablePath!, entry: module)
            case .local:
                do {
                    let info = try registry.load(path: module.executablePath!)
                    logger.info("loaded plugin \(info.name) \(info.version) from \(info.path) (\(module.path), \(module.name))")
                } catch {
                    logger.error("\(module.path) (\(module.name)): \(error)")
                }
            case .registry:
                break
            }
        }
        syncRegistryModules(config.modules.filter { $0.kind == .registry })
    }

    func apply(_ newConfig: MachineConfig) throws(ConfigError) {
        let plan = try MachinePlan.make(config: newConfig, models: models, remotes: options.remotes)
        let waiting = modulesNotLoaded
        for (path, message) in plan.unavailable {
            logger.error("\(configPath): \(path): \(message)\(waiting.isEmpty ? "" : "; registry modules not loaded yet: \(waiting) (it starts once they load)")")
        }
        let wanted = Dictionary(uniqueKeysWithValues: plan.components.map { ($0.entry.name, $0) })
        for name in components.keys.sorted() where wanted[name] == nil {
            stopComponent(name)
        }
        failedComponents = failedComponents.filter { wanted[$0.key] != nil }
        starting = starting.filter { wanted[$0.key] != nil }
        config = newConfig
        published.withLock { $0.appliedAt = Date() }
        mongoCapture.configure(newConfig.dataManager.mongoCapture)
        for component in plan.components { reconcile(component, dataManager: newConfig.dataManager) }
        let wantedRemotes = Dictionary(uniqueKeysWithValues: plan.remotes.map { ($0.entry.name, $0) })
        for name in remotes.keys.sorted() where wantedRemotes[name].map({ !$0.entry.sameConnection(as: remotes[name]!.entry) }) ?? true {
            stopRemote(name)
        }
        for remote in plan.remotes { reconcile(remote, dataManager: newConfig.dataManager) }
    }

    /// Connects to a remote part (the connection itself is made lazily by the part) and runs one
    /// collector per capture method, each calling the remote on its own queue.
    private func reconcile(_ plan: MachinePlan.Remote, dataManager: DataManagerConfig) {
        // A remote nothing is captured from (Viam configs name remotes for other reasons) is not dialled.
        guard let connector = options.remotes, !plan.collectors.isEmpty else {
            stopRemote(plan.entry.name)
            return
        }
        var running = remotes[plan.entry.name] ?? RunningRemote(entry: plan.entry, part: connector.connect(plan.entry), collectors: [:])
        running.entry = plan.entry
        var wanted: [Collector.Key: MachinePlan.RemoteCollectorPlan] = [:]
        for collector in plan.collectors {
            let key = Collector.Key(component: plan.entry.captureName(collector.resource), method: collector.method, parameters: collector.parameters)
            wanted[key] = collector
        }
        for (key, existing) in running.collectors where wanted[key] != existing.plan {
            existing.collector.stop()
            running.collectors[key] = nil
        }
        for (key, collectorPlan) in wanted where running.collectors[key] == nil {
            let writer = makeWriter(
                api: collectorPlan.api, component: key.component, method: collectorPlan.method, parameters: collectorPlan.parameters,
                dataManager: dataManager)
            let part = running.part
            let collector = Collector(key: key, frequencyHz: collectorPlan.frequencyHz, clock: options.clock, sink: writer, logger: logger) {
                () throws(PluginCallError) in
                try part.capture(
                    api: collectorPlan.api, resource: collectorPlan.resource, method: collectorPlan.method, parameters: collectorPlan.parameters)
            }
            running.collectors[key] = (collectorPlan, collector, writer)
            collector.start()
        }
        remotes[plan.entry.name] = running
    }

    private func stopRemote(_ name: String) {
        guard let running = remotes.removeValue(forKey: name) else { return }
        for (_, entry) in running.collectors { entry.collector.stop() }
        running.part.close()
    }

    private func makeWriter(
        api: String, component: String, method: String, parameters: BSONDocument, dataManager: DataManagerConfig
    ) -> CaptureFileWriter {
        var writerOptions = CaptureWriterOptions()
        writerOptions.maximumFileSize = dataManager.maximumCaptureFileSizeBytes
        writerOptions.fsyncInterval = dataManager.ferry.fsyncInterval
        writerOptions.tags = dataManager.tags
        return CaptureFileWriter(
            captureDir: dataManager.captureDir, api: api, component: component, method: method, parameters: parameters,
            options: writerOptions, clock: options.clock, fileSystem: options.fileSystem, logger: logger)
    }

    /// Brings one component to its planned state: instance created or reconfigured, collectors
    /// started, stopped or restarted as their plans changed.
    private func reconcile(_ plan: MachinePlan.Component, dataManager: DataManagerConfig) {
        let name = plan.entry.name
        if var running = components[name] {
            if running.entry != plan.entry {
                let sameModel = running.entry.api == plan.entry.api && running.entry.model == plan.entry.model
                let reconfigured = sameModel && ((try? running.instance.reconfigure(config: plan.entry.pluginConfig)) ?? false)
                if !reconfigured {
                    stopComponent(name)
                    startComponent(plan, dataManager: dataManager)
                    return
                }
                running.entry = plan.entry
                components[name] = running
            }
            syncCollectors(of: name, with: plan.collectors, dataManager: dataManager)
        } else {
            startComponent(plan, dataManager: dataManager)
        }
    }

    private func startComponent(_ plan: MachinePlan.Component, dataManager: DataManagerConfig) {
        let name = plan.entry.name
        if starting[name] != nil {
            // A create is under way: its end compares what it made with this, the newest plan.
            starting[name]?.plan = plan
            starting[name]?.dataManager = dataManager
            return
        }
        guard let model = models.componentModel(api: plan.entry.api, model: plan.entry.model) else { return }
        if model.createMayBlock {
            createAttempts += 1
            let attempt = createAttempts
            starting[name] = StartingComponent(attempt: attempt, created: plan, plan: plan, dataManager: dataManager)
            let config = plan.entry.pluginConfig
            DispatchQueue.global().async { [weak self] in
                let result: Result<any ComponentInstance, PluginCallError>
                do throws(PluginCallError) {
                    result = .success(try model.createInstance(config: config))
                } catch {
                    result = .failure(error)
                }
                guard let self else {
                    if case .success(let instance) = result { instance.close() }
                    return
                }
                self.control.async { self.finishStarting(name, attempt: attempt, result) }
            }
            return
        }
        do throws(PluginCallError) {
            install(try model.createInstance(config: plan.entry.pluginConfig), plan, dataManager: dataManager)
        } catch {
            noteCreateFailure(error, plan)
        }
    }

    /// The end of an asynchronous create (control queue): installs the instance if it was made
    /// for the plan still wanted; otherwise closes it and, if the component is still wanted,
    /// creates it again for the newest plan.
    private func finishStarting(_ name: String, attempt: Int, _ result: Result<any ComponentInstance, PluginCallError>) {
        guard let pending = starting[name], pending.attempt == attempt else {
            // Removed, or the machine stopped, while it was being created.
            if case .success(let instance) = result { instance.close() }
            return
        }
        starting[name] = nil
        switch result {
        case .success(let instance) where pending.plan.entry == pending.created.entry:
            install(instance, pending.plan, dataManager: pending.dataManager)
        case .success(let instance):
            logger.info("component \(name) was reconfigured while it was being created; creating it again with its new config")
            instance.close()
            startComponent(pending.plan, dataManager: pending.dataManager)
        case .failure(let error) where pending.plan.entry == pending.created.entry:
            noteCreateFailure(error, pending.plan)
        case .failure:
            startComponent(pending.plan, dataManager: pending.dataManager)
        }
    }

    private func install(_ instance: any ComponentInstance, _ plan: MachinePlan.Component, dataManager: DataManagerConfig) {
        let name = plan.entry.name
        components[name] = RunningComponent(entry: plan.entry, instance: instance, collectors: [:])
        instancesByName.withLock { $0[name] = (plan.entry.api, instance) }
        if failedComponents.removeValue(forKey: name) != nil { logger.info("component \(name) created after earlier failures") }
        syncCollectors(of: name, with: plan.collectors, dataManager: dataManager)
    }

    private func noteCreateFailure(_ error: PluginCallError, _ plan: MachinePlan.Component) {
        let name = plan.entry.name
        if failedComponents[name] != error.description {
            logger.error("\(configPath): \(plan.entry.path): cannot create component \"\(name)\" (\(plan.entry.model)): \(error); retrying every few seconds")
        }
        failedComponents[name] = error.description
    }

    private func syncCollectors(of name: String, with plans: [MachinePlan.CollectorPlan], dataManager: DataManagerConfig) {
        guard var running = components[name] else { return }
        var wanted: [Collector.Key: MachinePlan.CollectorPlan] = [:]
        for plan in plans { wanted[Collector.Key(component: name, method: plan.method, parameters: plan.parameters)] = plan }
        for (key, existing) in running.collectors where wanted[key] != existing.plan {
            existing.collector.stop()
            running.collectors[key] = nil
        }
        for (key, plan) in wanted where running.collectors[key] == nil {
            let writer = makeWriter(
                api: running.entry.api, component: name, method: plan.method, parameters: plan.parameters, dataManager: dataManager)
            let instance = running.instance
            let sink = MongoCaptureSink(inner: writer, mirror: mongoCapture, api: running.entry.api, component: name, method: plan.method)
            let collector = Collector(
                key: key, frequencyHz: plan.frequencyHz, clock: options.clock, sink: sink, logger: logger
            ) { () throws(PluginCallError) in
                try instance.capture(method: plan.method, parameters: plan.parameters)
            }
            running.collectors[key] = (plan, collector, writer)
            collector.start()
        }
        components[name] = running
    }

    private func stopComponent(_ name: String) {
        starting[name] = nil  // a create under way no longer counts: what it makes is closed
        guard let running = components.removeValue(forKey: name) else { return }
        instancesByName.withLock { _ = $0.removeValue(forKey: name) }
        for (_, entry) in running.collectors { entry.collector.stop() }
        running.instance.close()
    }

    /// Polls the config file (editors replace files, so a stamp beats inotify on one inode) and
    /// retries components whose creation failed.
    private func poll() {
        let stamp = FileStamp(path: configPath)
        if stamp != configStamp, stamp != nil {
            _ = reloadOnControlQueue()
            return
        }
        retryDueModules()
        for module in isolatedModules.values { DispatchQueue.global().async { module.restartIfDue() } }
        collectorMetrics.publish(currentCollectorStats())
        let processes = isolatedModules.keys.sorted().compactMap { isolatedModules[$0]?.status }
        pluginProcessMetrics.publish(processes)
        if !processes.isEmpty, let captureDir = config?.dataManager.captureDir {
            PluginProcessReport(updatedAt: options.clock.now(), statuses: processes).save(captureDir: captureDir)
        }
        guard !failedComponents.isEmpty, let config,
            let plan = try? MachinePlan.make(config: config, models: models, remotes: options.remotes)
        else { return }
        for component in plan.components where failedComponents[component.entry.name] != nil {
            startComponent(component, dataManager: config.dataManager)
        }
    }
}

/// The models of plugin processes, then those loaded in this one.
struct MachineModels: ModelCatalog {
    var isolated: [ModelKey: IsolatedModel]
    var registry: PluginRegistry
    var extra: (any ModelCatalog & Sendable)?

    func componentModel(api: String, model: String) -> (any ComponentModel)? {
        isolated[ModelKey(api: api, model: model)] ?? registry.componentModel(api: api, model: model)
            ?? extra?.componentModel(api: api, model: model)
    }

    func modelNames(api: String) -> [String] {
        Array(Set(registry.modelNames(api: api) + isolated.keys.filter { $0.api == api }.map(\.model) + (extra?.modelNames(api: api) ?? [])))
            .sorted()
    }
}

/// What identifies a version of a file cheaply: inode, size and modification time.
struct FileStamp: Equatable {
    var inode: UInt64
    var size: Int64
    var modified: Double

    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modified = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
    }
}
