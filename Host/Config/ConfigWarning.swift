/// A key a Viam config may hold that Ferry accepts but does not act on: one warning per key,
/// naming every place it appears and why it has no effect here.
package struct ConfigWarning: Sendable, Equatable, CustomStringConvertible {
    /// The key as written, e.g. `cache_size_kb`.
    package var key: String
    /// Every JSON path where it appears, e.g. `components[0].service_configs[0].attributes.capture_methods[0].cache_size_kb`.
    package var paths: [String]
    /// Why it has no effect in Ferry, and what to use instead where there is something.
    package var reason: String

    package init(key: String, paths: [String], reason: String) {
        self.key = key
        self.paths = paths
        self.reason = reason
    }

    package var description: String {
        let shown = paths.prefix(3).joined(separator: ", ") + (paths.count > 3 ? " and \(paths.count - 3) more" : "")
        return "\(key) (\(shown)) has no effect in Ferry: \(reason)"
    }
}

/// The keys of Viam's machine config that Ferry accepts without acting on them, by where they sit,
/// each with the reason given in its warning. Keys Ferry does act on are parsed where they belong.
enum InertKeys {
    static let topLevel: [String: String] = [
        "network": "the machine API listens where `ferry run --listen HOST:PORT` says (plain HTTP/2 with --insecure)",
        "processes": "Ferry starts no processes; run them under your init system",
        "packages": "Ferry downloads no packages (ML models, modules); install plugins as local modules",
        "debug": "set FERRY_LOG_LEVEL=debug instead",
        "log": "set FERRY_LOG_LEVEL instead",
        "enable_web_profile": "Ferry serves no pprof profile",
        "revision": "it is bookkeeping of Viam's cloud",
        "maintenance": "Ferry has no maintenance window",
        "package_path": "Ferry downloads no packages",
        "disable_log_deduplication": "Ferry rate-limits repeated capture errors on its own",
        "jobs": "Ferry runs no scheduled jobs on the machine (data pipelines run on the data server)",
        "tracing": "Ferry exports no traces",
        "agent": "it configures Viam's agent, not the machine",
    ]

    static let auth: [String: String] = [
        "tls_auth_entities": "the machine API authenticates with API keys only",
        "external_auth_config": "the machine API authenticates with API keys only",
    ]

    /// On a component or service entry.
    static let resource: [String: String] = [
        "frame": "Ferry has no frame system",
        "log_configuration": "set FERRY_LOG_LEVEL instead",
    ]

    /// In the data_manager service's attributes.
    static let dataManager: [String: String] = [
        "delete_data_on_part_deletion": "it deletes data in Viam's cloud when a part is deleted; delete data on the Ferry data server yourself",
        "mongo_capture_config": "Ferry does not write captures to MongoDB; query the data server (MQL/SQL) instead",
        "cache_size_kb": "it sizes viam-micro-server's collector buffers; Ferry writes readings straight to capture files",
        "file_last_modified_millis": "Ferry uploads additional_sync_paths files once unmodified for 10 s",
    ]

    /// In a data_manager service_config's attributes (beside capture_methods).
    static let dataManagerServiceConfig: [String: String] = [
        "recent_data_store": "Ferry's data server keeps recent readings in hot storage (--hot-storage-hours) for every resource",
    ]

    /// In one capture_methods entry.
    static let captureMethod: [String: String] = [
        "cache_size_kb": "it sizes viam-micro-server's collector buffers; Ferry writes readings straight to capture files",
        "capture_queue_size": "Ferry never queues readings: a capture slower than its interval skips ticks",
        "capture_buffer_size": "Ferry writes each reading with one write(2)",
    ]

    /// On a remotes[] entry.
    static let remote: [String: String] = [
        "secret": "robot location secrets are not accepted; give the remote an API key in auth",
        "frame": "Ferry has no frame system",
        "prefix": "remote resources are captured under \"<remote>:<name>\"",
        "managed_by": "it is bookkeeping of Viam's cloud",
        "connection_check_interval": "Ferry checks the connection on every capture and reconnects with backoff",
        "reconnect_interval": "Ferry reconnects with exponential backoff (0.2 s to 30 s)",
    ]
}
