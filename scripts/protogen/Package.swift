// swift-tools-version:6.1
// Builds the two protoc plugins that scripts/generate-protos.sh runs; nothing else uses this package.
//
//   protoc-gen-swift           (swift-protobuf)      → Host/Generated/ViamProtos/*.pb.swift
//   protoc-gen-grpc-swift-2    (grpc-swift-protobuf) → Host/Generated/ViamGRPC/*.grpc.swift
//
// It is separate from the root Package.swift so that generating code never needs the code
// generators (GRPCCodeGen, SwiftProtobufPluginLibrary) in the main build, and so the main .build/
// is never touched. The versions are pinned exactly and must equal the runtime versions the root
// Package.swift uses (generate-protos.sh checks swift-protobuf's): generated code and runtime must
// come from the same release.
import PackageDescription

let package = Package(
    name: "FerryProtogen",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", exact: "2.4.1"),
        // grpc-swift-protobuf asks for grpc-swift-2 "from: 2.3.0"; pin the runtime's release.
        .package(url: "https://github.com/grpc/grpc-swift-2", exact: "2.4.3"),
    ],
    targets: []
)
