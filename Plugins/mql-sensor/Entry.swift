import FerrySDK

/// MQL operators for sensor data that MongoDB lacks, loaded by the host like any plugin: one of
/// each kind the ABI offers (stage, expression, accumulator).
let sensorOperators = PluginDefinition(
    name: "mql-sensor", version: "1.0.0",
    operators: [LTTBStage.registration, DewPoint.registration, RootMeanSquare.registration])

@_cdecl("ferry_plugin_entry")
public func ferryPluginEntry() -> UnsafeRawPointer { FerryPlugin.entry(sensorOperators) }
