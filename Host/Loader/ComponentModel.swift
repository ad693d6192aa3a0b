import FerryBSON

/// A model that creates component (or service) instances: a plugin's registered model, loaded in
/// this process (``RegisteredModel``), or one served by a plugin running in a child process. The
/// machine only sees this, so where a plugin runs is decided by the config, not by the machine.
package protocol ComponentModel: Sendable {
    var api: String { get }
    var model: String { get }
    var captureMethods: [String] { get }
    /// True when `createInstance` may block for as long as its deadline (it asks another process):
    /// the machine then creates the instance off its control queue, the component "starting" meanwhile.
    var createMayBlock: Bool { get }
    /// Creates an instance from `{name, api, model, attributes, depends_on}`.
    func createInstance(config: BSONDocument) throws(PluginCallError) -> any ComponentInstance
}

extension ComponentModel {
    /// A model loaded in this process creates at once (its create is the plugin's own code, trusted).
    package var createMayBlock: Bool { false }
}

/// A live instance of a model: what collectors, the machine API and capture_resource call.
package protocol ComponentInstance: AnyObject, Sendable {
    /// Runs one capture method with the collector's additional parameters.
    func capture(method: String, parameters: BSONDocument) throws(PluginCallError) -> CapturedValue
    /// True when applied in place; false when the model wants to be closed and re-created.
    func reconfigure(config: BSONDocument) throws(PluginCallError) -> Bool
    func doCommand(_ command: BSONDocument) throws(PluginCallError) -> BSONDocument
    /// Releases the instance; later calls fail. Idempotent.
    func close()
}

/// Where the machine finds models by API and name.
package protocol ModelCatalog {
    func componentModel(api: String, model: String) -> (any ComponentModel)?
    /// The model names available for an API, for messages about a model nobody provides.
    func modelNames(api: String) -> [String]
}

extension RegisteredModel: ComponentModel {
    package func createInstance(config: BSONDocument) throws(PluginCallError) -> any ComponentInstance {
        try create(config: config)
    }
}

extension PluginInstance: ComponentInstance {}

extension PluginRegistry: ModelCatalog {
    package func componentModel(api: String, model: String) -> (any ComponentModel)? {
        self.model(api: api, model: model)
    }
}
