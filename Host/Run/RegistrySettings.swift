import FerryConfig
import FerryLoader
import FerryMachine
import FerryModuleSpec
import FerryModules
import FerrySystem
import Foundation
import Logging

/// Where registry modules come from on this machine, from the first place that says:
/// command-line flags, then FERRY_REGISTRY / FERRY_REGISTRY_TRUST (colon-separated key files) /
/// FERRY_REGISTRY_CA / FERRY_MODULE_CACHE, then the data manager's `ferry` block of the config.
package struct RegistrySettings {
    package var registry: String?
    package var trust: [String]
    package var caFile: String?
    package var cache: String

    package init(registry: String?, trust: [String], caFile: String?, cache: String?, config: MachineConfig?) {
        let environment = ProcessInfo.processInfo.environment
        func nonEmpty(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        let ferry = config?.dataManager.ferry
        self.registry = registry ?? nonEmpty("FERRY_REGISTRY") ?? ferry?.registry
        self.trust =
            !trust.isEmpty ? trust : nonEmpty("FERRY_REGISTRY_TRUST").map { $0.split(separator: ":").map(String.init) } ?? ferry?.registryTrust ?? []
        self.caFile = caFile ?? nonEmpty("FERRY_REGISTRY_CA") ?? ferry?.registryCA
        let beside = config.map { FilePaths.join(FilePaths.parent($0.dataManager.captureDir), "ferry-modules") }
        self.cache = cache ?? nonEmpty("FERRY_MODULE_CACHE") ?? ferry?.moduleCache ?? beside ?? "ferry-modules"
    }

    /// The client, or why there is none (an unreadable key, a malformed registry address).
    package func client(logger: Logger, loadCheck: (@Sendable (String) async -> String?)? = PluginLoadCheck.inChildProcess) -> Result<ModuleRegistryClient, RegistryError> {
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
package struct RegistryModuleSupplier: ModuleSupplier {
    package let client: Result<ModuleRegistryClient, RegistryError>

    package func supply(moduleID: String, pin: String) async -> ModuleSupply {
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
package enum PluginLoadCheck {
    package static let inChildProcess: @Sendable (String) async -> String? = { library in
        let outcome: ChildProcess.Outcome
        do {
            outcome = try await ChildProcess.run(
                PluginDiscovery.ferry(), arguments: ["plugin", "inspect", "--json", library], capturing: .standardError, timeout: .seconds(60))
        } catch {
            return "cannot run ferry plugin inspect: \(error)"
        }
        switch outcome.termination {
        case .exited(0): return nil
        case .timedOut: return "loading it did not finish within 60 s"
        case .signalled(let signal): return "loading it crashed the checking process (signal \(signal))"
        case .exited(let status):
            let text = String(decoding: outcome.output, as: UTF8.self).trimmedWhitespace
            return text.isEmpty ? "ferry plugin inspect exited with \(status)" : text
        }
    }
}
