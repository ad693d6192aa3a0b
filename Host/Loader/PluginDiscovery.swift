import Foundation

/// Where plugin libraries come from: the built-ins next to the `ferry` binary, then
/// FERRY_PLUGIN_PATH, then the config's `modules` (loaded by the machine).
package enum PluginDiscovery {
    /// Built-in plugins are the `libFerry*.so` files in the directory of the running executable.
    package static func builtinPlugins(executableDirectory: URL = executableDirectory()) -> [String] {
        libraries(in: executableDirectory).filter { URL(fileURLWithPath: $0).lastPathComponent.hasPrefix("libFerry") }
    }

    /// FERRY_PLUGIN_PATH: colon-separated files or directories; a directory contributes every `.so`.
    package static func pluginPathEntries(_ value: String?) -> [String] {
        guard let value, !value.isEmpty else { return [] }
        return value.split(separator: ":").flatMap { entry -> [String] in
            let path = String(entry)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                return libraries(in: URL(fileURLWithPath: path))
            }
            return [path]  // a file, or a missing one: the loader reports it
        }
    }

    /// This process's binary (what `ferry plugin-host` runs as): /proc/self/exe names it even when
    /// it was started through PATH or a symlink.
    package static func ownExecutable() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// `ferry` beside this executable: where `ferry-host` runs the commands it has not
    /// (`ferry plugin inspect` of a plugin, in a child process).
    package static func ferry() -> String { executableDirectory().appendingPathComponent("ferry").path }

    package static func executableDirectory() -> URL {
        URL(fileURLWithPath: ownExecutable()).deletingLastPathComponent().standardizedFileURL
    }

    static func libraries(in directory: URL) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".so") }.sorted().map { directory.appendingPathComponent($0).path }
    }
}
