/// Supplies registry modules (`{"type": "registry", "module_id", "version"}`) as plugin
/// libraries: resolving the pin, installing into a cache, falling back to the cache when the
/// registry cannot be had. `ferry run` passes one backed by the module registry; the machine
/// only asks, off its control queue, so a slow or failing registry never holds anything up.
public protocol ModuleSupplier: Sendable {
    func supply(moduleID: String, pin: String) async -> ModuleSupply
}

public enum ModuleSupply: Sendable, Equatable {
    /// The library to load, its version, and, when the registry was not used and a cached
    /// version stands in, why.
    case ready(library: String, version: String, offline: String?)
    /// Why the module cannot be had now; the machine retries with backoff.
    case failed(String)
}

/// How long to wait before retrying a module after consecutive failures: 1 s, doubling, at
/// most 5 minutes, each wait varied by ±20% so a fleet does not retry in step.
public struct ModuleBackoff: Sendable {
    public var initial: Duration = .seconds(1)
    public var maximum: Duration = .seconds(300)
    /// A number in 0..<1; 0.5 means no variation (tests pass that).
    public var random: @Sendable () -> Double = { Double.random(in: 0..<1) }

    public init() {}

    public func delay(afterFailures failures: Int) -> Duration {
        let exponent = min(max(failures - 1, 0), 30)
        let base = min(initial * (1 << exponent), maximum)
        return base * (0.8 + 0.4 * random())
    }
}
