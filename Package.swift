// swift-tools-version:6.1
import PackageDescription

// Plugins are dynamic libraries loaded with dlopen; link them so their own copies of FerrySDK and
// FerryBSON bind to themselves, never to the host's copies of the same symbols.
let pluginLinkerSettings: [LinkerSetting] = [.unsafeFlags(["-Xlinker", "-Bsymbolic"])]

/// A broken plugin built only to prove the loader refuses it cleanly.
func fixturePlugin(_ name: String) -> Target {
    .target(
        name: name, dependencies: ["CFerryPlugin"], path: "Tests/Fixtures/\(name)", publicHeadersPath: ".",
        linkerSettings: pluginLinkerSettings)
}
let fixturePlugins = [
    "FixtureNoEntry", "FixtureABIMajor", "FixtureABIMinor", "FixtureInitFails", "FixtureDuplicateModel",
]

let package = Package(
    name: "Ferry",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ferry", targets: ["ferry"]),
        .library(name: "FerrySDK", targets: ["FerrySDK"]),
        .library(name: "FerryBSON", targets: ["FerryBSON"]),
        // Built-in plugins: each its own shared library, found next to the ferry binary.
        .library(name: "FerryFake", type: .dynamic, targets: ["FerryFake"]),
        .library(name: "FerrySystemStats", type: .dynamic, targets: ["FerrySystemStats"]),
        .library(name: "FerryLTTB", type: .dynamic, targets: ["FerryLTTB"]),
    ] + fixturePlugins.map { .library(name: $0, type: .dynamic, targets: [$0]) },
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
    ],
    targets: [
        // MARK: SDK — what a plugin author depends on; never imports Host.
        .target(name: "CFerryPlugin", path: "SDK", sources: ["CFerryPlugin"], publicHeadersPath: "include"),
        .target(name: "FerryBSON", path: "SDK/FerryBSON"),
        .target(name: "FerrySDK", dependencies: ["CFerryPlugin", "FerryBSON"], path: "SDK/FerrySDK"),

        // MARK: Host — the host process and the data server.
        .target(
            name: "ViamProtos", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Host/Generated/ViamProtos"),
        .target(name: "FerryConfig", dependencies: ["FerryBSON"], path: "Host/Config"),
        .target(
            name: "FerryLoader",
            dependencies: ["CFerryPlugin", "FerryBSON", .product(name: "Logging", package: "swift-log")],
            path: "Host/Loader"),
        .target(
            name: "FerryCapture",
            dependencies: [
                "FerryBSON", "FerryLoader", "ViamProtos", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Host/Capture"),
        .target(
            name: "FerryMachine",
            dependencies: [
                "FerryBSON", "FerryConfig", "FerryLoader", "FerryCapture",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Host/Machine"),
        .target(name: "FerryMQL", dependencies: ["FerryBSON"], path: "Host/MQL"),
        .target(name: "FerryMQLPlugins", dependencies: ["FerryMQL", "FerryLoader", "FerryBSON"], path: "Host/MQLPlugins"),
        .executableTarget(
            name: "ferry",
            dependencies: [
                "FerryBSON", "FerryConfig", "FerryLoader", "FerryCapture", "FerryMachine", "FerryMQL", "FerryMQLPlugins",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Host/ferry"),

        // MARK: Plugins — built-in plugins; import SDK only.
        .target(
            name: "FerryFake", dependencies: ["FerrySDK", "FerryBSON"], path: "Plugins/fake",
            linkerSettings: pluginLinkerSettings),
        .target(
            name: "FerrySystemStats", dependencies: ["CFerryPlugin"], path: "Plugins/system-stats", publicHeadersPath: ".",
            linkerSettings: pluginLinkerSettings),

        .target(
            name: "FerryLTTB", dependencies: ["FerrySDK", "FerryBSON"], path: "Plugins/mql-lttb",
            linkerSettings: pluginLinkerSettings),

        // MARK: Benchmarks
        .executableTarget(
            name: "CaptureBenchmark",
            dependencies: ["FerryBSON", "FerryCapture", "FerryLoader", .product(name: "Logging", package: "swift-log")],
            path: "Benchmarks/CaptureBenchmark"),

        // MARK: Tests
        .target(name: "FerryTestSupport", dependencies: ["FerryBSON"], path: "Tests/FerryTestSupport"),
        .testTarget(name: "FerryBSONTests", dependencies: ["FerryBSON", "FerryTestSupport"]),
        .testTarget(name: "FerryConfigTests", dependencies: ["FerryConfig", "FerryBSON"]),
        .testTarget(
            name: "FerryLoaderTests", dependencies: ["FerryLoader", "FerryBSON", "FerryTestSupport", "CFerryPlugin"]),
        .testTarget(
            name: "FerryCaptureTests",
            dependencies: ["FerryCapture", "FerryMachine", "FerryLoader", "FerryConfig", "FerryBSON", "ViamProtos", "FerryTestSupport"]),
        .testTarget(name: "FerryMQLTests", dependencies: ["FerryMQL", "FerryBSON"]),
        .testTarget(name: "LTTBPluginTests", dependencies: ["FerryLoader", "FerryBSON", "FerryTestSupport"]),
        .testTarget(name: "EndToEndTests", dependencies: ["FerryBSON", "FerryCapture", "FerryTestSupport"]),
        .testTarget(name: "FakePluginTests", dependencies: ["FerryFake", "FerrySDK", "FerryBSON"]),
    ] + fixturePlugins.map(fixturePlugin)
)
