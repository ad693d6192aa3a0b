import FerryConfig
import FerryMachine
import FerryModuleSpec
import FerryModules
import Foundation
import Logging

/// Where registry modules come from on this machine, from the first place that says:
/// command-line flags, then FERRY_REGISTRY / FERRY_REGISTRY_TRUST (colon-separated key files) /
/// FERRY_REGISTRY_CA / FERRY_MODULE_CACHE, then the data manager's `ferry` block of the config.
struct RegistrySettings {
    var registry: String?
    var trust: [String]
    var caFile: String?
    var cache: String

    init(registry: String?, trust: [String], caFile: String?, cache: String?, config: MachineConfig?) {
        let environment = ProcessInfo.processInfo.environment
        func nonEmpty(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        let ferry = config?.dataManager.ferry
        self.registry = registry ?? nonEmpty("FERRY_REGISTRY") ?? ferry?.registry
        self.trust =
            !trust.isEmpty ? trust : nonEmpty("FERRY_REGISTRY_TRUST").map { $0.split(separator: ":").map(String.init) } ?? ferry?.registryTrust ?? []
        self.caFile = caFile ?? nonEmpty("FERRY_REGISTRY_CA") ?? ferry?.registryCA
        let beside = config.map { (($0.dataManager.captureDir as NSString).deletingLastPathComponent as NSString).appendingPathComponent("ferry-modules") }
        self.cache = cache ?? nonEmpty("FERRY_MODULE_CACHE") ?? ferry?.moduleCache ?? beside ?? "ferry-modules"
    }

    /// The client, or why there is none (an unreadable key, a malformed registry address).
    func client(logger: Logger, loadCheck: (@Sendable (String) async -> String?)? = PluginLoadCheck.inChildProcess) -> Result<ModuleRegistryClient, RegistryError> {
        do throws(RegistryError) {
            let source = try registry.map { (text) throws(RegistryError) in try RegistrySource(text, caFile: caFile) }
            var keys: [TrustedKey] = []
            for file in trust { keys.append(try TrustedKey.load(file: file)) }
            let installer = ModuleInstaller(cache: ModuleCache(root: cache), loadCheck: loadCheck, logger: logger)
            return .success(ModuleRegistryClient(source: source, trust: keys, installer: installer, logger: logger))
        } catch {
            return .failure(error)
        }
    }
}

/// The machine's view of the registry: `ModuleSupply` from `ModuleRegistryClient`.
struct RegistryModuleSupplier: ModuleSupplier {
    let client: Result<ModuleRegistryClient, RegistryError>

    func supply(moduleID: String, pin: String) async -> ModuleSupply {
        do {
            let acquired = try await client.get().acquire(try ModuleID(parsing: moduleID), pin: try VersionPin(parsing: pin))
            return .ready(library: acquired.library, version: acquired.receipt.version, offline: acquired.offlineReason)
        } catch {
            return .failed("\(error)")
        }
    }
}

/// Checks that a freshly unpacked plugin loads, in a child process (`ferry plugin inspect`), so
/// a plugin that crashes in its init never takes the host down while it installs.
enum PluginLoadCheck {
    static let inChildProcess: @Sendable (String) async -> String? = { library in
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        process.arguments = ["plugin", "inspect", "--json", library]
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return "cannot run ferry plugin inspect: \(error.localizedDescription)"
        }
        let reader = Task { await Pipes.readToEnd(errors) }
        let deadline = ContinuousClock.now + .seconds(60)
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            return "loading it did not finish within 60 s"
        }
        process.waitUntilExit()
        let text = String(decoding: await reader.value, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if process.terminationReason == .uncaughtSignal { return "loading it crashed the checking process (signal \(process.terminationStatus))" }
        return process.terminationStatus == 0 ? nil : (text.isEmpty ? "ferry plugin inspect exited with \(process.terminationStatus)" : text)
    }
}
