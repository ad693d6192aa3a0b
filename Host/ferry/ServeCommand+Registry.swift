import FerryAPI
import FerryConfig
import FerryModules
import FerryRun
import Logging

extension ServeCommand {
    /// `--registry-dir DIR`: the registry served over HTTP(S) on a port of its own, so a fleet's
    /// data server is also its module registry. nil without the flag.
    func registryServer(tls: (certificate: String, key: String)?, logger: Logger) throws -> (@Sendable () async throws -> Void)? {
        guard let registryDir else { return nil }
        guard let address = ListenAddress(registryListen) else {
            throw Failure("--registry-listen takes \(ListenAddress.expected), not \(registryListen)")
        }
        let server: RegistryFileServer
        do {
            server = try RegistryFileServer(root: registryDir, tls: tls, logger: logger)
        } catch {
            throw Failure(error.message)
        }
        return {
            try await ListenFailure.run(service: "the module registry", host: address.host, port: address.port) { listening in
                try await server.run(host: address.host, port: address.port) { port in
                    listening()
                    let scheme = tls == nil ? "http" : "https"
                    logger.info("serving the module registry \(server.root) on \(scheme)://\(address.host):\(port)/")
                }
            }
        }
    }
}
