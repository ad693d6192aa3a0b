import FerryBSON
import FerryTestSupport
import Foundation
import Testing

@testable import FerryLoader

/// Each way a plugin can fail to load, with a real broken library built by the package: the
/// loader refuses it with a one-line error naming the file and the cause, and carries on.
@Suite struct LoaderFailureTests {
    func loadFailure(_ path: String, into registry: PluginRegistry = PluginRegistry()) throws -> LoadError {
        do {
            try registry.load(path: path)
        } catch {
            #expect(!error.description.contains("\n"), "one line: \(error.description)")
            #expect(error.description.contains(error.path))
            return error
        }
        Issue.record("\(path) loaded but should have been refused")
        throw CancellationError()
    }

    @Test func missingFile() throws {
        let error = try loadFailure("/nonexistent/libGhost.so")
        #expect(error.reason == .fileMissing)
        #expect(error.description == "plugin /nonexistent/libGhost.so: file not found; check the path (modules[].executable_path or FERRY_PLUGIN_PATH)")
    }

    @Test func notASharedLibrary() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("libNotReally.so")
        try "#!/bin/sh\necho I am a script\n".write(toFile: path, atomically: true, encoding: .utf8)
        let error = try loadFailure(path)
        guard case .notASharedLibrary(let detail) = error.reason else {
            Issue.record("expected notASharedLibrary, got \(error.reason)")
            return
        }
        #expect(detail.contains("libNotReally.so"))
        #expect(error.description.contains("not a loadable shared library"))
    }

    @Test func noEntrySymbol() throws {
        let error = try loadFailure(BuiltProducts.library("FixtureNoEntry"))
        #expect(error.reason == .noEntrySymbol)
        #expect(error.description.contains("no ferry_plugin_entry symbol"))
    }

    @Test func abiMajorMismatch() throws {
        let error = try loadFailure(BuiltProducts.library("FixtureABIMajor"))
        #expect(error.reason == .abiMismatch(pluginMajor: PluginLoader.abiMajor + 1, pluginMinor: 0))
        #expect(error.description.contains("built for plugin ABI \(PluginLoader.abiMajor + 1).0 but this host speaks \(PluginLoader.abiMajor).\(PluginLoader.abiMinor)"))
    }

    @Test func newerABIMinor() throws {
        let error = try loadFailure(BuiltProducts.library("FixtureABIMinor"))
        #expect(error.reason == .abiMismatch(pluginMajor: PluginLoader.abiMajor, pluginMinor: PluginLoader.abiMinor + 1))
        #expect(error.description.contains("newer than this host's"))
    }

    @Test func initFailureDropsWhatItRegistered() throws {
        let registry = PluginRegistry()
        let error = try loadFailure(BuiltProducts.library("FixtureInitFails"), into: registry)
        #expect(error.reason == .initFailed(status: "fatal", message: "cannot open /dev/fixture0: no such device"))
        #expect(registry.model(api: "rdk:component:sensor", model: "fixture:broken:half-registered") == nil)
        #expect(registry.plugins.isEmpty)
    }

    @Test func duplicateModelIsRefusedAndTheFirstStays() throws {
        let registry = PluginRegistry()
        let fake = try registry.load(path: BuiltProducts.library("FerryFake"))
        let error = try loadFailure(BuiltProducts.library("FixtureDuplicateModel"), into: registry)
        guard case .duplicate(let what, let owner) = error.reason else {
            Issue.record("expected duplicate, got \(error.reason)")
            return
        }
        #expect(what == "model rdk:component:sensor rdk:builtin:fake")
        #expect(owner == fake.path)
        #expect(registry.model(api: "rdk:component:sensor", model: "rdk:builtin:fake")?.pluginPath == fake.path)
        #expect(registry.plugins.map(\.name) == [fake.name])
    }

    @Test func aFailureDoesNotStopTheOthers() throws {
        let registry = PluginRegistry()
        let failures = registry.load(paths: [
            BuiltProducts.library("FixtureNoEntry"), BuiltProducts.library("FerryFake"),
            "/nonexistent/libGhost.so", BuiltProducts.library("FerrySystemStats"),
        ])
        #expect(failures.map(\.reason) == [.noEntrySymbol, .fileMissing])
        #expect(registry.plugins.count == 2)
    }
}
