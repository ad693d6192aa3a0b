/// Why a plugin library was not loaded. Its description is the one-line message a user sees:
/// the file, what went wrong, and what to do.
package struct LoadError: Error, CustomStringConvertible, Sendable, Equatable {
    package enum Reason: Sendable, Equatable {
        case fileMissing
        case notASharedLibrary(String)
        case noEntrySymbol
        case abiMismatch(pluginMajor: Int, pluginMinor: Int)
        case initFailed(status: String, message: String)
        case duplicate(what: String, registeredBy: String)
        case malformed(String)
    }

    package var path: String
    package var reason: Reason

    package init(path: String, reason: Reason) {
        self.path = path
        self.reason = reason
    }

    package var description: String {
        let host = "\(PluginLoader.abiMajor).\(PluginLoader.abiMinor)"
        let detail: String
        switch reason {
        case .fileMissing:
            detail = "file not found; check the path (modules[].executable_path or FERRY_PLUGIN_PATH)"
        case .notASharedLibrary(let error):
            detail = "not a loadable shared library (\(error)); build it with -shared -fPIC for this machine"
        case .noEntrySymbol:
            detail = "no ferry_plugin_entry symbol and no NAME.ferry.json manifest beside it; is this a Ferry plugin? Export the entry with FERRY_DECLARE_PLUGIN (C) or @_cdecl(\"ferry_plugin_entry\") (Swift), or describe plain C functions in a manifest (the simple tier, see the SDK README)"
        case .abiMismatch(let major, let minor):
            detail = major != PluginLoader.abiMajor
                ? "built for plugin ABI \(major).\(minor) but this host speaks \(host); rebuild it against this host's SDK"
                : "built for plugin ABI \(major).\(minor), newer than this host's \(host); upgrade ferry or rebuild the plugin against the older SDK"
        case .initFailed(let status, let message):
            detail = "init failed (\(status)): \(message)"
        case .duplicate(let what, let owner):
            detail = "\(what) is already registered by \(owner); remove one of the two plugins"
        case .malformed(let message):
            detail = "malformed plugin: \(message)"
        }
        return "plugin \(path): \(detail)"
    }
}
