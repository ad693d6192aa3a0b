import FerryBSON
import FerryLoader

/// What the conformance suite exercises: a model that creates instances. A plugin's registered
/// model is one (``RegisteredModel``); the tests' `InProcessModel` runs a FerrySDK driver on an
/// in-process fake device, so the same suite covers paths a scripted device cannot reach (mmap).
package protocol ConformanceModel {
    var api: String { get }
    var model: String { get }
    var captureMethods: [String] { get }
    func makeInstance(config: BSONDocument) throws(PluginCallError) -> any ConformanceInstance
}

package protocol ConformanceInstance: AnyObject {
    func capture(method: String, parameters: BSONDocument) throws(PluginCallError) -> CapturedValue
    /// True when applied in place; false when the model wants to be closed and re-created.
    func reconfigure(config: BSONDocument) throws(PluginCallError) -> Bool
    func close()
}

extension RegisteredModel: ConformanceModel {
    package func makeInstance(config: BSONDocument) throws(PluginCallError) -> any ConformanceInstance {
        try create(config: config)
    }
}

extension PluginInstance: ConformanceInstance {}
