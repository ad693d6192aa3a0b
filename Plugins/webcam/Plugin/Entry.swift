import FerryWebcamDriver
import FerrySDK

/// `libFerryWebcam.so`: the V4L2 `webcam` camera (model `webcam`, i.e. `rdk:builtin:webcam`).
let definition = PluginDefinition(
    name: "webcam", version: "0.1.0",
    models: [ModelRegistration(api: .camera, model: Webcam.model) { try Webcam(config: $0) }])

@_cdecl("ferry_plugin_entry")
public func ferryPluginEntry() -> UnsafeRawPointer { FerryPlugin.entry(definition) }
