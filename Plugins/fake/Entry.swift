import FerrySDK

/// The plugin's one exported symbol. It only returns the descriptor: the host checks the ABI
/// before `init` registers the models.
@_cdecl("ferry_plugin_entry")
public func ferryPluginEntry() -> UnsafeRawPointer {
    FerryPlugin.entry(FakeModels.definition)
}
