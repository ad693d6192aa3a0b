#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Which machines an archive runs on, in Viam's spelling: `linux/amd64`, `linux/arm64`,
/// `linux/arm32v7`, `darwin/arm64`, … or `any` for an archive that runs everywhere.
public struct Platform: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let value: String

    public static let any = Platform(checked: "any")

    public struct ParseError: Error, CustomStringConvertible, Sendable, Equatable {
        public var text: String
        public var description: String {
            "\"\(text)\" is not a platform; write OS/ARCH (linux/amd64, linux/arm64, linux/arm32v7, darwin/arm64, …) or any"
        }
    }

    public init(parsing text: String) throws(ParseError) {
        guard text == "any" || Self.isOSArch(text) else { throw ParseError(text: text) }
        value = text
    }

    init(checked value: String) { self.value = value }

    public var description: String { value }

    /// The archive's file name in a registry: `linux-amd64.tar.gz`, `any.tar.gz`.
    public var archiveName: String { String(value.map { $0 == "/" ? "-" : $0 }) + ".tar.gz" }

    /// This machine, as `uname` reports it, in Viam's architecture names.
    public static let host: Platform = {
        var info = utsname()
        uname(&info)
        func text<T>(_ field: T) -> String {
            withUnsafeBytes(of: field) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        }
        let os = text(info.sysname).lowercased()
        let arch: String =
            switch text(info.machine) {
            case "x86_64", "amd64": "amd64"
            case "aarch64", "arm64": "arm64"
            case "armv7l", "armv7": "arm32v7"
            case "armv6l": "arm32v6"
            case "i386", "i686": "386"
            case let other: other.lowercased()
            }
        return Platform(checked: "\(os)/\(arch)")
    }()

    /// The archives to look for on this platform, best first: its own, then `any`.
    public var candidates: [Platform] { self == .any ? [.any] : [self, .any] }

    public static func < (lhs: Platform, rhs: Platform) -> Bool { lhs.value < rhs.value }

    static func isOSArch(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 2
            && parts.allSatisfy { part in
                !part.isEmpty && part.count <= 32
                    && part.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x7A).contains($0) || $0 == UInt8(ascii: "_") }
            }
    }
}
