import Foundation

/// Where `swift build` / `swift test` put the package's products: beside the test binary.
public enum BuiltProducts {
    public static var directory: URL {
        let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var url = URL(fileURLWithPath: path).deletingLastPathComponent()
        // On some layouts the test binary sits inside a bundle directory one level down.
        if !FileManager.default.fileExists(atPath: url.appendingPathComponent("ferry").path),
            FileManager.default.fileExists(atPath: url.deletingLastPathComponent().appendingPathComponent("ferry").path)
        {
            url = url.deletingLastPathComponent()
        }
        return url
    }

    /// The real `ferry` binary.
    public static var ferry: String { directory.appendingPathComponent("ferry").path }

    /// A plugin library built by the package, e.g. `library("FerryFake")` → `.../libFerryFake.so`.
    public static func library(_ name: String) -> String { directory.appendingPathComponent("lib\(name).so").path }
}

/// A fresh directory under the system temp dir, removed by `remove()`.
public struct TemporaryDirectory: Sendable {
    public let path: String
    public init(_ prefix: String = "ferry-test") throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    public func file(_ name: String) -> String { URL(fileURLWithPath: path).appendingPathComponent(name).path }
    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}
