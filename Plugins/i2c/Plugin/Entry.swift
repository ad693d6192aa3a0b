import FerryDevice
import FerryI2CDrivers
import FerrySDK

/// libFerryI2C.so: the I2C sensors, all on the real system calls.
enum I2CPlugin {
    static let definition = PluginDefinition(
        name: "i2c", version: "0.1.0",
        models: I2CModels.registrations(io: SystemDeviceIO()))
}

@_cdecl("ferry_plugin_entry")
public func ferryPluginEntry() -> UnsafeRawPointer {
    FerryPlugin.entry(I2CPlugin.definition)
}
