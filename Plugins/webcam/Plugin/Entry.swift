import FerryWebcamDriver
import FerrySDK

/// `libFerryWebcam.so`: the V4L2 `webcam` camera (model `webcam`, i.e. `rdk:builtin:webcam`).
let definition = PluginDefinition(
    name: "webcam", version: "0.1.0",
    models: [
        ModelRegistration(api: ComponentAPI.camera.rawValue, model: Webcam.model, captureMethods: Webcam.captureMethods) {
            try Webcam(config: $0)
        }
    ])

@_cdecl("ferry_plugin_entry")
public func ferryPluginEntry() -> UnsafeRawPointer { FerryPlugin.entry(definition) }
