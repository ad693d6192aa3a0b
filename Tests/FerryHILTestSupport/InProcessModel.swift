import FerryBSON
import FerryHIL
import FerryLoader
import FerrySDK

/// A FerrySDK model run in this process, seen as the suite sees a plugin's: the way to put a
/// driver on an in-process fake device through the same checks as `ferry hil` on hardware (and
/// to reach paths a scripted device cannot, such as mmap). Errors become the statuses the host
/// would see across the C ABI.
package struct InProcessModel: ConformanceModel {
    package var api: String
    package var model: String
    package var captureMethods: [String]
    let create: (ComponentConfig) throws -> any Component

    package init(
        api: String, model: String, captureMethods: [String], create: @escaping (ComponentConfig) throws -> any Component
    ) {
        self.api = api
        self.model = model
        self.captureMethods = captureMethods
        self.create = create
    }

    /// A plugin's registration, created in process rather than through its `.so`.
    package init(_ registration: ModelRegistration) {
        self.init(api: registration.api, model: registration.model, captureMethods: registration.captureMethods, create: registration.create)
    }

    package func makeInstance(config: BSONDocument) throws(PluginCallError) -> any ConformanceInstance {
        do { return InProcessInstance(component: try create(ComponentConfig(document: config))) } catch { throw Self.callError(error) }
    }

    /// A `PluginError` keeps its kind as the status; anything else is fatal, as at the C ABI.
    static func callError(_ error: any Error) -> PluginCallError {
        guard let error = error as? PluginError else { return PluginCallError(status: .fatal, message: "\(error)") }
        let status: PluginCallError.Status =
            switch error.kind {
            case .retryLater: .retryLater
            case .invalidArgument: .invalidArgument
            case .unsupported: .unsupported
            case .fatal: .fatal
            }
        return PluginCallError(status: status, message: error.message)
    }
}

final class InProcessInstance: ConformanceInstance {
    let component: any Component
    init(component: any Component) { self.component = component }

    func capture(method: String, parameters: BSONDocument) throws(PluginCallError) -> CapturedValue {
        do {
            switch try component.capture(method: method, parameters: parameters) {
            case .tabular(let document): return .tabular(document)
            case .binary(let payloads): return .binary(payloads.map { CapturedBinary(bytes: $0.bytes, mimeType: $0.mimeType) })
            }
        } catch { throw InProcessModel.callError(error) }
    }

    /// Unsupported means "re-create me", as the host treats it.
    func reconfigure(config: BSONDocument) throws(PluginCallError) -> Bool {
        do {
            try component.reconfigure(ComponentConfig(document: config))
            return true
        } catch let error as PluginError where error.kind == .unsupported {
            return false
        } catch { throw InProcessModel.callError(error) }
    }

    func close() { component.close() }
}
