import FerryBSON
import FerryConfig
import FerryLoader

/// How the machine reaches remote parts. `ferry run` passes the machine API's gRPC client
/// (FerryMachineAPI); tests may pass their own.
package protocol RemoteConnector: Sendable {
    /// Why `method` of an `api` resource cannot be captured from a remote (nil: it can): checked
    /// when the config loads, so a bad capture method is refused like a local one.
    func problem(api: String, method: String, parameters: BSONDocument) -> String?
    /// A connection to the remote, established lazily and re-established on its own.
    func connect(_ remote: RemoteEntry) -> any RemotePart
}

/// One remote part, as its collectors see it.
package protocol RemotePart: Sendable {
    /// Runs one capture on the remote resource `api`/`resource`, blocking the collector's queue
    /// until it answers. A remote that cannot be reached answers retry-later, fast.
    func capture(api: String, resource: String, method: String, parameters: BSONDocument) throws(PluginCallError) -> CapturedValue
    func close()
}

extension RemoteEntry {
    /// The name a remote resource's captures are filed under here: `<remote>:<resource>`, as Viam
    /// names remote resources, so two remotes' same-named resources never share files.
    package func captureName(_ resource: String) -> String { "\(name):\(resource)" }
}
