import ArgumentParser
import FerryAPI
import FerryConfig
import FerryMachine
import FerryMachineAPI
import FerryRun
import Foundation
import Logging

/// `ferry run --listen HOST:PORT [--insecure]`: serve Viam's machine API from the host.
struct MachineAPIOptions: ParsableArguments {
    @Option(
        help: """
            Serve Viam's machine API (robot, component and data manager services) on HOST:PORT, over TLS with a \
            self-signed certificate kept in <capture_dir>/.ferry/machine-api (--insecure: plain HTTP/2). Clients \
            authenticate with an API key of the config's auth.handlers.
            """)
    var listen: String?

    @Flag(help: "With --listen: serve plain HTTP/2 (h2c) without TLS; clients must dial insecurely.")
    var insecure = false

    func validate() throws {
        if insecure, listen == nil { throw ValidationError("--insecure applies to --listen; give --listen HOST:PORT too") }
        if let listen, ListenAddress(listen) == nil { throw ValidationError("--listen takes \(ListenAddress.expected), not \(listen)") }
    }

    /// Starts the server in `group` when --listen was given.
    func start(
        _ machine: Machine, dataManager: DataManagerConfig, syncNow: @escaping @Sendable () -> Void, logger: Logger,
        in group: inout ThrowingDiscardingTaskGroup<any Error>
    ) throws {
        guard let listen, let address = ListenAddress(listen) else { return }
        guard !machine.apiKeys.isEmpty else {
            throw Failure(
                """
                ferry run --listen needs at least one API key in the config, as Viam writes them: \
                "auth": {"handlers": [{"type": "api-key", "config": {"<key id>": "<key>", "keys": ["<key id>"]}}]} \
                (a key id is a UUID, e.g. from uuidgen; a key is at least 16 characters, e.g. openssl rand -hex 16)
                """)
        }
        let directory = MachineAPIPaths.machineAPIDirectory(captureDir: dataManager.captureDir)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var options = MachineAPIServer.Options()
        options.host = address.host
        options.port = address.port
        if !insecure { options.tls = try DataServer.selfSignedCertificate(in: directory, listenHost: address.host, logger: logger) }
        let server = MachineAPIServer(
            machine: machine, tokenSecretFile: (directory as NSString).appendingPathComponent("token-secret"), options: options,
            syncNow: {
                syncNow()
                return true
            })
        group.addTask { try await server.run() }
    }
}

enum MachineAPIPaths {
    /// The machine API's certificate, key and token secret: beside the sync state, in Ferry's own
    /// hidden folder of the capture directory (never scanned for capture files).
    static func machineAPIDirectory(captureDir: String) -> String { captureDir + "/.ferry/machine-api" }
}
