import Dispatch
import FerryBSON
import FerryCapture
import FerryConfig
import FerryLoader
import FerryMongoClient
import Foundation
import Logging
import Synchronization

/// The running host: plugins loaded, component instances created from the config, one collector
/// per capture method, and the config file watched so edits apply without a restart. All control
/// work (start, reload, retry, stop) runs on one serial control queue.
public final class Machine: @unchecked Sendable {
    // @unchecked: every mutable field below is touched only on `control` (a serial queue).
    public struct Options: Sendable {
        public var clock: any CaptureClock = SystemCaptureClock()
        public var fileSystem: any CaptureFileSystem = POSIXCaptureFileSystem()
        /// How often the config file is checked for changes and failed components are retried.
        public var pollInterval: DispatchTimeInterval = .seconds(1)
        public init() {}
    }

    struct RunningComponent {
        var entry: ComponentEntry
        var instance: PluginInstance
        var collectors: [Collector.Key: (plan: MachinePlan.CollectorPlan, collector: Collector, writer: CaptureFileWriter)]
    }

    public let configPath: String
    public let registry: PluginRegistry
    let options: Options
    let logger: Logger
    let control = DispatchQueue(label: "ferry.machine.control")
    /// The data manager's `mongo_capture_config`: tabular readings also go to MongoDB.
    let mongoCapture: MongoCaptureMirror

    private var config: MachineConfig?
    private var components: [String: RunningComponent] = [:]
    private var failedComponents: [String: String] = [:]
    private var configStamp: FileStamp?
    private var watcher: DispatchSourceTimer?
    private var captureDirLock: CaptureDirectoryLock?

    public init(configPath: String, registry: PluginRegistry, options: Options = Options(), logger: Logger = Logger(label: "ferry.machine")) {
        self.configPath = configPath
        self.registry = registry
        self.options = options
        self.logger = logger
        self.mongoCapture = MongoCaptureMirror(logger: logger)
    }

    /// Loads and applies the config, recovering interrupted capture files first. Throws when the
    /// config is invalid (nothing starts) or the capture directory is held by another host.
    public func start() throws {
        try control.sync {
            let config = try ConfigParser.load(file: configPath)
            captureDirLock = try CaptureDirectoryLock(captureDir: config.dataManager.captureDir)
            _ = CaptureRecovery.recover(captureDir: config.dataManager.captureDir, logger: logger)
            loadModules(config)
            try apply(config)
            configStamp = FileStamp(path: configPath)
            startWatching()
        }
    }

    /// Re-reads the config file and applies the difference. An invalid new config is refused with
    /// its errors logged, and the old one keeps running. Returns the refusal, if any.
    @discardableResult
    public func reload() -> ConfigError? {
        control.sync { reloadOnControlQueue() }
    }

    /// Stops every collector (closing its files: `.prog` → `.capture`) and closes every instance.
    public func stop() {
        control.sync {
            watcher?.cancel()
            watcher = nil
            for name in components.keys.sorted() { stopComponent(name) }
            mongoCapture.configure(nil)
            captureDirLock = nil
        }
    }

    /// The data manager settings now in force (after any reload); nil before `start`.
    public var dataManager: DataManagerConfig? {
        control.sync { config?.dataManager }
    }

    /// A component's current Readings (the selective syncer's `should_sync`), or nil when the
    /// component is not running or does not answer.
    public func readings(of component: String) -> BSONDocument? {
        guard let instance = control.sync(execute: { components[component]?.instance }) else { return nil }
        guard case .tabular(let document)? = try? instance.capture(method: "Readings") else { return nil }
        return document
    }

    /// Finishes every collector's open capture file, so a sync takes everything captured so far.
    public func finishCaptureFiles() {
        let collectors = control.sync { components.values.flatMap { $0.collectors.values.map(\.collector) } }
        for collector in collectors { collector.finishFile() }
    }

    /// Collector keys running now, with their stats.
    public var collectorStats: [Collector.Key: CollectorStats] {
        control.sync {
            var stats: [Collector.Key: CollectorStats] = [:]
            for component in components.values {
                for (key, running) in component.collectors { stats[key] = running.collector.stats }
            }
            return stats
        }
    }

    /// How `mongo_capture_config` is doing; nil when it is not configured.
    public var mongoCaptureStats: MongoCaptureStats? { mongoCapture.stats }

    public var writerStats: [Collector.Key: CaptureWriterStats] {
        control.sync {
            var stats: [Collector.Key: CaptureWriterStats] = [:]
            for component in components.values {
                for (key, running) in component.collectors { stats[key] = running.writer.stats }
            }
            return stats
        }
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
            try apply(newConfig)
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

    private func loadModules(_ config: MachineConfig) {
        for module in config.modules {
            switch module.kind {
            case .local:
                do {
                    let info = try registry.load(path: module.executablePath!)
                    logger.info("loaded plugin \(info.name) \(info.version) from \(info.path) (\(module.path), \(module.name))")
                } catch {
                    logger.error("\(module.path) (\(module.name)): \(error)")
                }
            case .registry:
                logger.error("\(module.path) (\(module.name)): registry modules are not installed by ferry yet; download the plugin and use {\"type\": \"local\", \"executable_path\": …}")
            }
        }
    }

    private func apply(_ newConfig: MachineConfig) throws(ConfigError) {
        let plan = try MachinePlan.make(config: newConfig, registry: registry)
        for (path, message) in plan.unavailable { logger.error("\(configPath): \(path): \(message)") }
        let wanted = Dictionary(uniqueKeysWithValues: plan.components.map { ($0.entry.name, $0) })
        for name in components.keys.sorted() where wanted[name] == nil {
            stopComponent(name)
        }
        failedComponents = failedComponents.filter { wanted[$0.key] != nil }
        config = newConfig
        mongoCapture.configure(newConfig.dataManager.mongoCapture)
        for component in plan.components { reconcile(component, dataManager: newConfig.dataManager) }
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
        guard let model = registry.model(api: plan.entry.api, model: plan.entry.model) else { return }
        do {
            let instance = try model.create(config: plan.entry.pluginConfig)
            components[name] = RunningComponent(entry: plan.entry, instance: instance, collectors: [:])
            if failedComponents.removeValue(forKey: name) != nil { logger.info("component \(name) created after earlier failures") }
            syncCollectors(of: name, with: plan.collectors, dataManager: dataManager)
        } catch {
            if failedComponents[name] != error.description {
                logger.error("\(configPath): \(plan.entry.path): cannot create component \"\(name)\" (\(plan.entry.model)): \(error); retrying every few seconds")
            }
            failedComponents[name] = error.description
        }
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
            var writerOptions = CaptureWriterOptions()
            writerOptions.maximumFileSize = dataManager.maximumCaptureFileSizeBytes
            writerOptions.fsyncIntervalNanos = UInt64(dataManager.ferry.fsyncIntervalMs) * 1_000_000
            writerOptions.tags = dataManager.tags
            let writer = CaptureFileWriter(
                captureDir: dataManager.captureDir, api: running.entry.api, component: name, method: plan.method,
                parameters: plan.parameters, options: writerOptions, clock: options.clock, fileSystem: options.fileSystem,
                logger: logger)
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
        guard let running = components.removeValue(forKey: name) else { return }
        for (_, entry) in running.collectors { entry.collector.stop() }
        running.instance.close()
    }

    /// Polls the config file (editors replace files, so a stamp beats inotify on one inode) and
    /// retries components whose creation failed.
    private func startWatching() {
        let timer = DispatchSource.makeTimerSource(queue: control)
        timer.schedule(deadline: .now() + options.pollInterval, repeating: options.pollInterval)
        timer.setEventHandler { [weak self] in self?.poll() }
        timer.resume()
        watcher = timer
    }

    private func poll() {
        let stamp = FileStamp(path: configPath)
        if stamp != configStamp, stamp != nil {
            _ = reloadOnControlQueue()
            return
        }
        guard !failedComponents.isEmpty, let config, let plan = try? MachinePlan.make(config: config, registry: registry) else { return }
        for component in plan.components where failedComponents[component.entry.name] != nil {
            startComponent(component, dataManager: config.dataManager)
        }
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
