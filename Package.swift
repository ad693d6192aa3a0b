// swift-tools-version:6.1
import PackageDescription

// Plugins are dynamic libraries loaded with dlopen; link them so their own copies of FerrySDK and
// FerryBSON bind to themselves, never to the host's copies of the same symbols.
let pluginLinkerSettings: [LinkerSetting] = [.unsafeFlags(["-Xlinker", "-Bsymbolic"])]

/// The package's directory: the linker is given the symbol order file by absolute path.
let packageDirectory = String(#filePath.dropLast("/Package.swift".count))

/// How `ferry` and `ferry-host` are linked; `orderFile`: each has its own, from a profile of its own.
func hostLinkerSettings(orderFile: String) -> [LinkerSetting] { [
    // Relative relocations packed (RELR, read by glibc ≥ 2.36): the 2.65 MiB table the loader
    // reads at every start shrinks to 0.5 MiB. gold cannot write them; lld, shipped with Swift, can.
    .unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"]),
    // The functions the host calls, first in the order it first calls them
    // (scripts/host-symbol-order.sh): the host's code sits together instead of spread
    // over the text of every command, and touches a few MiB of it, not 14.
    .unsafeFlags([
        "-Xlinker", "--symbol-ordering-file=\(packageDirectory)/\(orderFile)",
        "-Xlinker", "--no-warn-symbol-ordering",
    ], .when(configuration: .release)),
] }

/// A broken plugin built only to prove the loader refuses it cleanly.
func fixturePlugin(_ name: String) -> Target {
    .target(
        name: name, dependencies: ["CFerryPlugin"], path: "Tests/Fixtures/\(name)", publicHeadersPath: ".",
        linkerSettings: pluginLinkerSettings)
}
let fixturePlugins = [
    "FixtureNoEntry", "FixtureABIMajor", "FixtureABIMinor", "FixtureInitFails", "FixtureDuplicateModel",
    // Misbehaving drivers (crash, exit, hang, garbage on the channel) for process isolation.
    "FixtureMisbehaving", "FixtureInitCrashes", "FixtureCrashingOperator",
]

let package = Package(
    name: "Ferry",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ferry", targets: ["ferry"]),
        .executable(name: "ferry-host", targets: ["ferry-host"]),
        .library(name: "FerrySDK", targets: ["FerrySDK"]),
        .library(name: "FerryBSON", targets: ["FerryBSON"]),
        .library(name: "FerryDevice", targets: ["FerryDevice"]),
        // Built-in plugins: each its own shared library, found next to the ferry binary.
        .library(name: "FerryFake", type: .dynamic, targets: ["FerryFake"]),
        .library(name: "FerrySystemStats", type: .dynamic, targets: ["FerrySystemStats"]),
        .library(name: "FerryMQLSensor", type: .dynamic, targets: ["FerryMQLSensor"]),
        .library(name: "FerryWebcam", type: .dynamic, targets: ["FerryWebcam"]),
        .library(name: "FerryI2C", type: .dynamic, targets: ["FerryI2C"]),
        .library(name: "FerryGPIO", type: .dynamic, targets: ["FerryGPIO"]),
    ] + fixturePlugins.map { .library(name: $0, type: .dynamic, targets: [$0]) },
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2", exact: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", exact: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", exact: "2.4.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        // 3.x or 4.x: gRPC's transport (via swift-certificates) resolves 4.x on this machine.
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        // OTLP over gRPC only: the HTTP exporter's trait would bring async-http-client.
        .package(url: "https://github.com/swift-otel/swift-otel", from: "1.6.0", traits: ["OTLPGRPC"]),
        // The web dashboard's HTTP server (`ferry serve --ui-listen`).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        // MARK: SDK — what a plugin author depends on; never imports Host.
        .target(name: "CFerryPlugin", path: "SDK", sources: ["CFerryPlugin"], publicHeadersPath: "include"),
        .target(name: "FerryBSON", path: "SDK/FerryBSON"),
        .target(name: "FerrySDK", dependencies: ["CFerryPlugin", "FerryBSON"], path: "SDK/FerrySDK"),
        // The seam between drivers and the kernel (open/ioctl/read/mmap/poll), faked in unit tests.
        .target(name: "FerryDevice", path: "SDK/FerryDevice"),
        // Linux uAPI structs and ioctl numbers (I2C, GPIO v2) for drivers.
        .target(name: "CFerryLinux", path: "SDK/CFerryLinux"),

        // MARK: Host — the host process and the data server.
        .target(
            name: "ViamProtos", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Host/Generated/ViamProtos"),
        .target(
            name: "ViamGRPC",
            dependencies: [
                "ViamProtos", .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            ],
            path: "Host/Generated/ViamGRPC"),
        // The machine API's messages and stubs: their own targets, so the data server never compiles them.
        .target(
            name: "ViamMachineProtos",
            dependencies: ["ViamProtos", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Host/Generated/ViamMachineProtos"),
        .target(
            name: "ViamMachineGRPC",
            dependencies: [
                "ViamMachineProtos", "ViamProtos", .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            ],
            path: "Host/Generated/ViamMachineGRPC"),
        .target(name: "FerryConfig", dependencies: ["FerrySystem", "FerryBSON", "FerryModuleSpec"], path: "Host/Config"),
        // Module registry: the names (ids, semver, pins, platforms), then signing, archives,
        // the cache, installation and serving.
        .target(name: "FerryModuleSpec", path: "Host/ModuleSpec"),
        .systemLibrary(name: "CZlib", path: "Host/CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(
            name: "FerryModules",
            dependencies: ["FerrySystem", 
                "FerryBSON", "FerryClock", "FerryModuleSpec", "CZlib", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Host/Modules"),
        // libffi, for the simple plugin tier (plain C functions + a JSON manifest).
        .systemLibrary(name: "CFFI", path: "Host/CFFI", pkgConfig: "libffi", providers: [.apt(["libffi-dev"])]),
        .target(
            name: "FerryLoader",
            dependencies: ["FerrySystem", "CFerryPlugin", "CFFI", "FerryBSON", .product(name: "Logging", package: "swift-log")],
            path: "Host/Loader"),
        // A plugin in a child process of its own (`ferry plugin-host`): the channel, the host side, the child side.
        .target(
            name: "FerryIsolation",
            dependencies: ["FerrySystem", "CFerrySharedRing", "FerryBSON", "FerryClock", "FerryLoader", .product(name: "Logging", package: "swift-log")],
            path: "Host/Isolation"),
        // Atomics on shared memory, the spin-wait hint and a sealed memfd: the channel's shared-memory fast path.
        .target(name: "CFerrySharedRing", path: "Host/CSharedRing", publicHeadersPath: "include"),
        // SIGTERM and SIGINT as bytes on a pipe, from a handler on whichever thread takes them.
        .target(name: "CFerrySignals", path: "Host/CSignals", publicHeadersPath: "include"),
        // The host's thin layer over POSIX (threads, a recursive lock, child processes, paths): what
        // it used Foundation for, so `ferry-host` links no Foundation.
        .target(name: "FerrySystem", dependencies: ["CFerrySystem"], path: "Host/System"),
        .target(name: "CFerrySystem", path: "Host/CSystem", publicHeadersPath: "include"),
        // The one clock (wall and monotonic time, sleeps, timers) every timed part of the host and server reads.
        .target(name: "FerryClock", dependencies: ["FerryBSON"], path: "Host/Clock"),
        // Viam's capture-file format: what capture writes, sync uploads and the server decodes.
        .target(
            name: "FerryCaptureFile",
            dependencies: ["FerrySystem", 
                "FerryBSON", "ViamProtos", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Host/CaptureFile"),
        .target(
            name: "FerryCapture",
            dependencies: ["FerrySystem", 
                "FerryBSON", "FerryCaptureFile", "FerryClock", "FerryLoader", .product(name: "Logging", package: "swift-log"),
            ],
            path: "Host/Capture"),
        .target(
            name: "FerryMachine",
            dependencies: ["FerrySystem", 
                "FerryBSON", "FerryConfig", "FerryLoader", "FerryIsolation", "FerryCapture", "FerryCaptureFile", "FerryClock",
                "FerryMongoClient", .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
            ],
            path: "Host/Machine"),
        .target(name: "FerryMQL", dependencies: ["FerryBSON"], path: "Host/MQL"),
        // The store seam: records, errors, filters and the protocols every backend implements; no database here.
        .target(
            name: "FerryStore",
            dependencies: [
                "FerryBSON", .product(name: "Logging", package: "swift-log"), .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            path: "Host/Store/Interface"),
        // The embedded backend: one SQLite file plus payload files in a data directory.
        .target(
            name: "FerryStoreSQLite",
            dependencies: [
                "FerryStore", "FerryBSON", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Host/Store/SQLite"),
        // The backend for fleets and replicas: PostgreSQL through postgres-nio.
        .target(
            name: "FerryStorePostgres",
            dependencies: [
                "FerryStore", "FerryBSON", .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"), .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Host/Store/PostgreSQL"),
        // Opens the backend a StoreLocation names; what `ferry serve`, `ferry run` and the CLI call.
        .target(
            name: "FerryStoreFactory", dependencies: ["FerryStore", "FerryStoreSQLite", "FerryStorePostgres"],
            path: "Host/Store/Factory"),
        // MQL over the store: the pushdown plan and its execution, shared by the gRPC API and the MongoDB endpoint.
        .target(name: "FerryQuery", dependencies: ["FerryBSON", "FerryMQL", "FerryStore"], path: "Host/Query"),
        // MongoDB's wire protocol: frames (OP_MSG, OP_QUERY, OP_REPLY), SCRAM-SHA-256, error codes.
        .target(
            name: "FerryMongoWire",
            dependencies: ["FerrySystem", 
                "FerryBSON", .product(name: "Crypto", package: "swift-crypto"), .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Host/Mongo/Wire"),
        // The MongoDB endpoint of `ferry serve`: database users, queries through FerryQuery, server-wide cursors.
        .target(
            name: "FerryMongoServer",
            dependencies: [
                "FerryMongoWire", "FerryQuery", "FerryStore", "FerryMQL", "FerryBSON", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Host/Mongo/Server"),
        // The host's `mongo_capture_config`: a small MongoDB client inserting captured readings.
        .target(
            name: "FerryMongoClient",
            dependencies: [
                "FerryMongoWire", "FerryConfig", "FerryCapture", "FerryCaptureFile", "FerryLoader", "FerryBSON",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"), .product(name: "Logging", package: "swift-log"),
            ],
            path: "Host/Mongo/Client"),
        // What the data server makes of an upload's messages, apart from gRPC (fuzzed on its own).
        .target(
            name: "FerryIngest",
            dependencies: [
                "FerryBSON", "FerryCaptureFile", "FerryClock", "FerryStore", "ViamProtos",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Host/Ingest"),
        .target(
            name: "FerryAPI",
            dependencies: [
                "FerryBSON", "FerryStore", "FerryMQL", "FerryPipelines", "FerryCaptureFile", "FerryClock", "FerryIngest", "ViamProtos", "ViamGRPC",
                "FerryQuery", "FerryMongoWire", "FerryMongoServer",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"), .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"), .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Host/API"),
        // The client that captures from remote parts through Viam's machine API, and the conversions
        // between readings and the API's responses both sides share.
        .target(
            name: "FerryRemoteParts",
            dependencies: ["FerrySystem", 
                "FerryBSON", "FerryCapture", "FerryCaptureFile", "FerryConfig", "FerryLoader", "FerryMachine", "ViamProtos", "ViamGRPC",
                "ViamMachineProtos", "ViamMachineGRPC", .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"), .product(name: "Logging", package: "swift-log"),
            ],
            path: "Host/RemoteParts"),
        // `ferry run --listen`: Viam's machine API served from the host.
        .target(
            name: "FerryMachineAPI",
            dependencies: [
                "FerryAPI", "FerryRemoteParts", "FerryBSON", "FerryCapture", "FerryCaptureFile", "FerryConfig", "FerryLoader", "FerryMachine", "FerryStore",
                "ViamProtos", "ViamGRPC", "ViamMachineProtos", "ViamMachineGRPC",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
            ],
            path: "Host/MachineAPI"),
        .target(
            name: "FerrySync",
            dependencies: ["FerrySystem", 
                "FerryCaptureFile", "FerryClock", "FerryConfig", "FerryBSON", "ViamProtos", "ViamGRPC",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            path: "Host/Sync"),
        .target(
            name: "FerryPipelines",
            dependencies: [
                "FerryStore", "FerryMQL", "FerryBSON", "FerryClock", .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            path: "Host/Pipelines"),
        // `ferry hil`: the per-API conformance suite, and the JPEG/PNG decoding its camera checks need
        // (and the dashboard's thumbnails: DCT-scaled JPEG decoding, JPEG encoding, streaming inflate).
        .target(
            name: "CFerryImageCheck", path: "Host/CImageCheck", publicHeadersPath: "include",
            linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("z")]),
        .target(name: "FerryHIL", dependencies: ["FerryLoader", "FerryBSON", "CFerryImageCheck"], path: "Host/HIL"),
        .target(name: "FerryMQLPlugins", dependencies: ["FerryMQL", "FerryLoader", "FerryIsolation", "FerryBSON"], path: "Host/MQLPlugins"),
        // `ferry serve --ui-listen`: the web dashboard, HTML rendered on the server over the same store
        // calls, query runner and pipeline manager as the gRPC API; sessions are signed cookies.
        .target(
            name: "FerryDashboard",
            dependencies: [
                "FerryAPI", "FerryStore", "FerryQuery", "FerryMQL", "FerryPipelines", "FerryBSON", "FerryClock", "CFerryImageCheck",
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"), .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "GRPCCore", package: "grpc-swift-2"), .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"), .product(name: "Logging", package: "swift-log"),
            ],
            path: "Host/Dashboard"),
        // `ferry run`'s host (plugins, capture, sync, registry modules, remote parts, stopping and
        // restarting) and the pieces every long-running command shares (logging, signals).
        .target(
            name: "FerryRun",
            dependencies: ["FerrySystem", 
                "CFerrySignals", "FerryBSON", "FerryConfig", "FerryLoader", "FerryIsolation", "FerryMachine", "FerryModules",
                "FerryModuleSpec", "FerryRemoteParts", "FerrySync",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Host/Run"),
        // The host alone: `ferry run` becomes it (exec) when the run needs none of the server's code
        // (no embedded data server, no --listen, no --metrics-listen, no traces), so a machine that
        // only captures and syncs maps a fraction of `ferry`'s code and none of Foundation's.
        .executableTarget(
            name: "ferry-host",
            dependencies: ["FerryRun", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Host/ferry-host",
            exclude: ["symbol-order.txt"],
            linkerSettings: hostLinkerSettings(orderFile: "Host/ferry-host/symbol-order.txt") + [
                // lld with --as-needed ahead of every library (scripts/ld-as-needed says why): the
                // libraries only dropped code used (libFoundation, ICU) are not even loaded.
                .unsafeFlags(["-ld-path=\(packageDirectory)/scripts/ld-as-needed"])
            ]),
        .executableTarget(
            name: "ferry",
            dependencies: [
                "FerryRun", "FerryRemoteParts",
                "FerryBSON", "FerryClock", "FerryConfig", "FerryLoader", "FerryIsolation", "FerryCaptureFile", "FerryMachine", "FerryMQL", "FerryMQLPlugins",
                "FerryStore", "FerryStoreFactory", "FerryAPI", "FerrySync", "FerryPipelines", "FerryHIL", "FerryModules", "FerryModuleSpec",
                "FerryMachineAPI", "FerryMongoWire", "FerryMongoServer", "FerryDashboard", "CFerrySignals",
                .product(name: "OTel", package: "swift-otel"), .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Host/ferry",
            exclude: ["symbol-order.txt"],
            linkerSettings: hostLinkerSettings(orderFile: "Host/ferry/symbol-order.txt")),

        // MARK: Plugins — built-in plugins; import SDK only.
        .target(
            name: "FerryFake", dependencies: ["FerrySDK", "FerryBSON"], path: "Plugins/fake",
            linkerSettings: pluginLinkerSettings),
        .target(
            name: "FerrySystemStats", dependencies: ["CFerryPlugin"], path: "Plugins/system-stats", publicHeadersPath: ".",
            linkerSettings: pluginLinkerSettings),

        .target(
            name: "FerryMQLSensor", dependencies: ["FerrySDK", "FerryBSON"], path: "Plugins/mql-sensor",
            linkerSettings: pluginLinkerSettings),

        // Drivers live in static targets (tested in process with fake devices); each plugin target
        // is only its entry point, so two plugins' `ferry_plugin_entry` never meet in one binary.
        .target(
            name: "FerryI2CDrivers", dependencies: ["FerrySDK", "FerryBSON", "FerryDevice", "CFerryLinux"],
            path: "Plugins/i2c/Drivers"),
        .target(
            name: "FerryI2C", dependencies: ["FerryI2CDrivers", "FerrySDK", "FerryDevice"], path: "Plugins/i2c/Plugin",
            linkerSettings: pluginLinkerSettings),
        .target(
            name: "FerryGPIODrivers",
            dependencies: ["FerryI2CDrivers", "FerrySDK", "FerryBSON", "FerryDevice", "CFerryLinux"], path: "Plugins/gpio/Drivers"),
        .target(
            name: "FerryGPIO", dependencies: ["FerryGPIODrivers", "FerrySDK", "FerryDevice"], path: "Plugins/gpio/Plugin",
            linkerSettings: pluginLinkerSettings),

        // The V4L2 webcam: the C shim (V4L2 request numbers, libjpeg-turbo), the driver, the plugin entry.
        .target(
            name: "CFerryV4L2", path: "Plugins/webcam/CV4L2", publicHeadersPath: "include",
            linkerSettings: [.linkedLibrary("jpeg")]),
        .target(
            name: "FerryWebcamDriver", dependencies: ["FerrySDK", "FerryBSON", "FerryDevice", "CFerryV4L2"],
            path: "Plugins/webcam/Driver"),
        .target(
            name: "FerryWebcam", dependencies: ["FerryWebcamDriver", "FerrySDK"], path: "Plugins/webcam/Plugin",
            linkerSettings: pluginLinkerSettings),

        // MARK: Benchmarks
        .executableTarget(
            name: "CaptureBenchmark",
            dependencies: [
                "FerryBSON", "FerryCapture", "FerryCaptureFile", "FerryClock", "FerryLoader", .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/CaptureBenchmark"),
        // The fake sensor in process vs in a plugin process; the binary is its own plugin-host.
        .executableTarget(
            name: "IsolationBenchmark",
            dependencies: [
                "FerryBSON", "FerryCapture", "FerryCaptureFile", "FerryClock", "FerryIsolation", "FerryLoader",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/IsolationBenchmark"),
        .target(
            name: "BenchmarkSupport",
            dependencies: [
                "FerryBSON", "FerryClock", "FerryMQL", "FerryPipelines", "FerryStore", .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/BenchmarkSupport"),
        .executableTarget(
            name: "StoreBenchmark",
            dependencies: [
                "BenchmarkSupport", "FerryBSON", "FerryStore", "FerryStoreSQLite", .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            path: "Benchmarks/StoreBenchmark"),
        .executableTarget(
            name: "SyncBenchmark",
            dependencies: [
                "BenchmarkSupport", "FerryAPI", "FerryBSON", "FerryCaptureFile", "FerryMQL", "FerryStore", "FerryStoreFactory", "FerryStoreSQLite",
                "FerrySync", "FerryTestSupport", .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/SyncBenchmark"),
        .executableTarget(
            name: "PipelineBenchmark",
            dependencies: [
                "BenchmarkSupport", "FerryBSON", "FerryStore", "FerryStoreFactory", "FerryStoreSQLite", "FerryTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Benchmarks/PipelineBenchmark"),
        // The Data page's chart over a year of readings, store call to SVG (Benchmarks/ChartBenchmark).
        .executableTarget(
            name: "ChartBenchmark",
            dependencies: [
                "BenchmarkSupport", "FerryAPI", "FerryBSON", "FerryDashboard", "FerryLoader", "FerryMQL", "FerryMQLPlugins", "FerryStore",
                "FerryStoreFactory", "FerryStoreSQLite", "FerryTestSupport", .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Benchmarks/ChartBenchmark"),
        // 100 simulated machines syncing into one `ferry serve` over TLS (Benchmarks/LoadBenchmark).
        .executableTarget(
            name: "LoadBenchmark",
            dependencies: [
                "FerryBSON", "FerryCapture", "FerryCaptureFile", "FerryClock", "FerryLoader", "FerrySync", "FerryTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/LoadBenchmark"),
        .systemLibrary(name: "CSQLite3", path: "Benchmarks/CSQLite3", pkgConfig: "sqlite3"),
        .executableTarget(
            name: "MQLBenchmark", dependencies: ["FerryMQL", "FerryBSON", "CSQLite3"], path: "Benchmarks/MQLBenchmark",
            exclude: ["mongomock_bench.py"]),

        // MARK: Fuzzing — Fuzz/run.sh builds FerryFuzz with libFuzzer and ASan; built normally it replays inputs.
        .target(
            name: "FerryFuzzTargets",
            dependencies: [
                "FerryBSON", "FerryCaptureFile", "FerryConfig", "FerryIngest", "FerryIsolation", "FerryLoader", "FerryMQL", "FerryMongoWire",
                "FerryPipelines",
                "FerryStore", "ViamProtos", .product(name: "SwiftProtobuf", package: "swift-protobuf"), .product(name: "Logging", package: "swift-log"),
            ],
            path: "Fuzz/Targets"),
        .executableTarget(name: "FerryFuzz", dependencies: ["FerryFuzzTargets"], path: "Fuzz/Driver"),

        // MARK: Tests
        .target(name: "FerryTestSupport", dependencies: ["FerryBSON", "FerryClock"], path: "Tests/FerryTestSupport"),
        .target(
            name: "FerryHILTestSupport", dependencies: ["FerryHIL", "FerryLoader", "FerrySDK", "FerryBSON"],
            path: "Tests/FerryHILTestSupport"),
        .testTarget(name: "FerryBSONTests", dependencies: ["FerryBSON", "FerryTestSupport"]),
        .testTarget(name: "FerryConfigTests", dependencies: ["FerryConfig", "FerryBSON"]),
        .testTarget(
            name: "FerryModulesTests",
            dependencies: ["FerryModules", "FerryModuleSpec", "FerryBSON", "FerryTestSupport", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(
            name: "FerryLoaderTests", dependencies: ["FerryLoader", "FerryBSON", "FerryTestSupport", "CFerryPlugin"]),
        .testTarget(
            name: "FerryCaptureTests",
            dependencies: [
                "FerryCapture", "FerryCaptureFile", "FerryClock", "FerryMachine", "FerryLoader", "FerryConfig", "FerryBSON", "ViamProtos",
                "FerryTestSupport",
            ]),
        .testTarget(name: "FerryMQLTests", dependencies: ["FerryMQL", "FerryBSON"]),
        .testTarget(
            name: "FerryIsolationTests",
            dependencies: ["FerryIsolation", "FerryLoader", "FerryBSON", "FerryClock", "FerryTestSupport", .product(name: "Logging", package: "swift-log")]),
        // Opens each backend the conformance suites run against (a fresh store per test).
        .target(
            name: "StoreTestSupport",
            dependencies: [
                "FerryStore", "FerryStoreSQLite", "FerryStorePostgres", "FerryTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/StoreTestSupport"),
        .testTarget(
            name: "FerryStoreTests",
            dependencies: [
                "FerryStore", "FerryStoreSQLite", "FerryStorePostgres", "StoreTestSupport", "FerryBSON", "FerryTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]),
        .testTarget(
            name: "FerryPipelinesTests",
            dependencies: ["FerryPipelines", "FerryStore", "StoreTestSupport", "FerryMQL", "FerryBSON", "FerryClock", "FerryTestSupport"]),
        .testTarget(
            name: "FerryQueryTests",
            dependencies: [
                "FerryQuery", "FerryStore", "FerryStoreSQLite", "FerryStorePostgres", "FerryMQL", "FerryBSON", "StoreTestSupport", "FerryTestSupport",
            ]),
        .testTarget(
            name: "FerryMongoTests",
            dependencies: [
                "FerryMongoWire", "FerryMongoServer", "FerryMongoClient", "FerryQuery", "FerryConfig", "FerryCapture", "FerryLoader",
                "FerryAPI",
                "FerryStore", "FerryMQL", "FerryBSON", "StoreTestSupport", "FerryTestSupport",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "FerryAPITests",
            dependencies: [
                "FerryAPI", "FerryIngest", "FerryStore", "FerryTestSupport", "StoreTestSupport", "ViamProtos",
                .product(name: "X509", package: "swift-certificates"),
            ]),
        .testTarget(
            name: "FerryDashboardTests",
            dependencies: [
                "FerryDashboard", "FerryAPI", "FerryStore", "FerryMQL", "FerryMQLPlugins", "FerryLoader", "FerryBSON", "FerryClock",
                "FerryPipelines", "FerryTestSupport", "StoreTestSupport", "CFerryImageCheck", "CZlib",
                .product(name: "HummingbirdTesting", package: "hummingbird"), .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]),
        .testTarget(name: "FuzzRegressionTests", dependencies: ["FerryFuzzTargets", "FerryTestSupport"]),
        .testTarget(
            name: "FerryMachineAPITests",
            dependencies: [
                "FerryMachineAPI", "FerryRemoteParts", "FerryMachine", "FerryLoader", "FerryConfig", "FerryBSON", "FerryCapture", "FerryCaptureFile", "FerryTestSupport", "ViamProtos",
                "ViamGRPC", "ViamMachineProtos", "ViamMachineGRPC", .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            ]),
        .testTarget(
            name: "FerrySyncTests",
            dependencies: ["FerrySync", "FerryCaptureFile", "FerryClock", "FerryConfig", "FerryBSON", "ViamProtos", "FerryTestSupport"]),
        .testTarget(name: "SensorOperatorPluginTests", dependencies: ["FerryLoader", "FerryBSON", "FerryTestSupport"]),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "CFerrySignals", "FerryBSON", "FerryCaptureFile", "FerryTestSupport", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "FerrySystemTests",
            dependencies: ["FerrySystem", "FerryRun", "FerryLoader", "FerryTestSupport", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "FakePluginTests", dependencies: ["FerryFake", "FerrySDK", "FerryBSON", "FerryTestSupport"]),
        .testTarget(
            name: "DriverTests",
            dependencies: [
                "FerryI2CDrivers", "FerryGPIODrivers", "FerryDevice", "CFerryLinux", "FerrySDK", "FerryBSON", "FerryHIL", "FerryLoader",
                "FerryHILTestSupport",
            ]),
        .testTarget(name: "FerryHILTests", dependencies: ["FerryHIL", "FerryLoader", "FerryBSON", "FerryTestSupport"]),
        .testTarget(
            name: "WebcamTests",
            dependencies: [
                "FerryWebcamDriver", "FerryDevice", "CFerryV4L2", "FerrySDK", "FerryBSON", "FerryHIL", "FerryLoader",
                "FerryTestSupport", "FerryHILTestSupport",
            ]),
    ] + fixturePlugins.map(fixturePlugin)
)

// Each function in its own section in release builds, so the linker can place the host's functions
// by the order file above. (Dependencies get it from the release build's command line: Deploy/release.sh.)
for target in package.targets where target.type == .regular || target.type == .executable {
    target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(["-Xfrontend", "-function-sections"], .when(configuration: .release))]
}
