import FerrySDK

/// MQL operators for sensor data that MongoDB lacks, loaded by the host like any plugin.
let lttbPlugin = PluginDefinition(name: "mql-lttb", version: "1.0.0", operators: [LTTBStage.registration])

@_cdecl("ferry_plugin_entry")
public func ferryPluginEntry() -> UnsafeRawPointer { FerryPlugin.entry(lttbPlugin) }
