import FerryDevice
import FerryGPIODrivers
import FerrySDK

/// libFerryGPIO.so: the customlinux board, the gpio motor and the dh-arm, on the real system calls.
enum GPIOPlugin {
    static let definition = PluginDefinition(name: "gpio", version: "0.1.0", models: GPIOModels.registrations(io: SystemDeviceIO()))
}

@_cdecl("ferry_plugin_entry")
public func ferryPluginEntry() -> UnsafeRawPointer {
    FerryPlugin.entry(GPIOPlugin.definition)
}
