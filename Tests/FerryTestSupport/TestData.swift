import Foundation

/// Finds test data shipped outside the package (the shared corpus directories next to it), so that
/// a test can fail loudly with where it looked instead of skipping when the data is missing.
public enum TestData {
    public struct Missing: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// The package root: the nearest ancestor of `filePath` (symlinks resolved) holding Package.swift.
    public static func packageRoot(filePath: String = #filePath) -> URL? {
        var directory = URL(fileURLWithPath: filePath).resolvingSymlinksInPath().deletingLastPathComponent()
        while directory.path != "/" {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
                return directory
            }
            directory.deleteLastPathComponent()
        }
        return nil
    }

    /// `<package root>/../shared/testdata/<name>`, or the directory named by the environment
    /// variable `environmentVariable` when it is set. Throws, naming where it looked, if the
    /// directory does not exist.
    public static func sharedDirectory(
        _ name: String, environmentVariable: String, filePath: String = #filePath
    ) throws -> URL {
        let directory: URL
        if let override = ProcessInfo.processInfo.environment[environmentVariable], !override.isEmpty {
            directory = URL(fileURLWithPath: override)
        } else if let root = packageRoot(filePath: filePath) {
            directory = root.deletingLastPathComponent().appendingPathComponent("shared/testdata/\(name)")
        } else {
            throw Missing(description: "no Package.swift above \(filePath); set \(environmentVariable) to the \(name) directory")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw Missing(description: "test data \(name) not found at \(directory.standardizedFileURL.path); set \(environmentVariable) to its directory")
        }
        return directory
    }
}
