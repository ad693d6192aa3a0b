import FerryBSON
import FerryTestSupport
import Foundation
import Testing

@testable import FerryLoader

/// The simple tier: a plain C library (built here with `cc`) plus a manifest, loaded by the real
/// loader and called through libffi.
@Suite struct FFITierTests {
    static let source = """
        #include <math.h>
        #include <stdbool.h>
        #include <stdint.h>
        #include <string.h>
        double scaled(double value, int factor) { return value * factor; }
        int64_t big(int64_t a) { return a * 1000000000LL; }
        bool positive(float x) { return x > 0; }
        int length(const char *text) { return (int)strlen(text); }
        float nothing(void) { return NAN; }
        """

    func build(_ manifest: String, in dir: TemporaryDirectory) throws -> String {
        try Self.source.write(toFile: dir.file("simple.c"), atomically: true, encoding: .utf8)
        let library = dir.file("libsimple.so")
        let cc = try FerryProcess.run(["-shared", "-fPIC", "-o", library, dir.file("simple.c")], executable: "/usr/bin/cc")
        try #require(cc.status == 0, "cc failed: \(cc.stderr)")
        try manifest.write(toFile: dir.file("simple.ferry.json"), atomically: true, encoding: .utf8)
        return library
    }

    static let manifest = """
        {"name": "simple", "version": "2.0.0", "models": [
          {"model": "acme:simple:all", "readings": {
             "scaled": "double scaled(double value, int factor)", "big": "int64_t big(int64_t a);",
             "positive": "bool positive(float x)", "length": "int length(const char *text)"}},
          {"model": "acme:simple:nan", "readings": {"nothing": "float nothing(void)"}}]}
        """

    @Test func callsEachSignatureWithArgumentsFromAttributes() throws {
        let dir = try TemporaryDirectory("ferry-ffi")
        defer { dir.remove() }
        let registry = PluginRegistry()
        let info = try registry.load(path: try build(Self.manifest, in: dir))
        #expect(info.name == "simple" && info.version == "2.0.0")
        #expect(info.models.map(\.model) == ["acme:simple:all", "acme:simple:nan"])
        let model = try #require(registry.model(api: "rdk:component:sensor", model: "acme:simple:all"))
        let instance = try model.create(config: [
            "name": "s", "api": "rdk:component:sensor", "model": "acme:simple:all",
            "attributes": ["value": 1.5, "factor": 4, "a": 3, "x": -2.0, "text": "hello"],
        ])
        #expect(
            try instance.capture(method: "Readings")
                == .tabular(["readings": ["scaled": .double(6), "big": .int64(3_000_000_000), "positive": false, "length": .int32(5)]]))
        #expect(throws: PluginCallError.self) { try instance.capture(method: "Position") }
        instance.close()
    }

    @Test func nanIsRetryLaterAndMissingAttributesAreRefused() throws {
        let dir = try TemporaryDirectory("ferry-ffi")
        defer { dir.remove() }
        let registry = PluginRegistry()
        try registry.load(path: try build(Self.manifest, in: dir))
        let nan = try #require(registry.model(api: "rdk:component:sensor", model: "acme:simple:nan"))
        let instance = try nan.create(config: ["name": "n", "api": "rdk:component:sensor", "model": "acme:simple:nan", "attributes": [:]])
        do {
            _ = try instance.capture(method: "Readings")
            Issue.record("NaN should be retry-later")
        } catch {
            #expect(error.status == .retryLater)
            #expect(error.message.contains("nothing returned NaN"))
        }
        let all = try #require(registry.model(api: "rdk:component:sensor", model: "acme:simple:all"))
        do {
            _ = try all.create(config: ["name": "s", "api": "rdk:component:sensor", "model": "acme:simple:all", "attributes": ["value": 1]])
            Issue.record("a missing attribute should be refused")
        } catch {
            #expect(error.status == .invalidArgument)
            #expect(error.message.contains("attribute factor is required"))
        }
    }

    @Test func badManifestsAreRefusedWithTheirPath() throws {
        for (manifest, words) in [
            (#"{"name": "x", "models": [{"model": "a:b:c", "readings": {"v": "double missing_fn(void)"}}]}"#, "missing_fn"),
            (#"{"name": "x", "models": [{"model": "a:b:c", "readings": {"v": "struct foo f(int a)"}}]}"#, "unsupported C type"),
            (#"{"name": "x", "models": [{"model": "a:b:c", "readings": {"v": "double scaled(double value, int factor"}}]}"#, "C prototype"),
            (#"{"name": "x", "models": [{"model": "a:b:c", "api": "rdk:component:arm", "readings": {"v": "double f(void)"}}]}"#, "sensors only"),
            (#"{"models": []}"#, "name"),
        ] {
            let dir = try TemporaryDirectory("ferry-ffi")
            defer { dir.remove() }
            let library = try build(manifest, in: dir)
            do throws(LoadError) {
                try PluginRegistry().load(path: library)
                Issue.record("\(manifest) should be refused")
            } catch {
                #expect(error.description.contains("libsimple.so"))
                #expect(error.description.contains(words), "\(error.description)")
            }
        }
    }

    @Test func signatureParsing() throws {
        let signature = try CSignature(parsing: "  long long  total(const char* name, _Bool flag, float f) ; ")
        #expect(signature.returnType == .int64 && signature.name == "total")
        #expect(signature.parameters == [.init(name: "name", type: .string), .init(name: "flag", type: .bool), .init(name: "f", type: .float)])
        #expect(throws: CSignature.ParseError.self) { try CSignature(parsing: "const char *name(void)") }
    }
}
