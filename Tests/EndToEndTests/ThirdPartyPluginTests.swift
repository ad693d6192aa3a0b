import FerryBSON
import FerryCaptureFile
import FerryTestSupport
import Foundation
import Testing

/// A third-party author's route: ten-odd lines of C against `ferry/plugin.h`, built with plain
/// `cc -shared -fPIC` (no SwiftPM, libc only), named in the config's `modules`.
@Suite(.ownThreads) struct ThirdPartyPluginTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static let source = """
        #include <ferry/plugin.h>
        #include <string.h>
        /* A counter sensor. Readings: {"readings": {"count": <int32>}} encoded by hand as BSON. */
        typedef struct { int count; } counter;
        static ferry_status create(void *ctx, const uint8_t *cfg, size_t n, void **out, ferry_result *r) {
            (void)ctx; (void)cfg; (void)n; (void)r;
            static counter c; *out = &c; return FERRY_OK;
        }
        static void close_counter(void *instance) { (void)instance; }
        static ferry_status capture(void *instance, const char *method, const uint8_t *p, size_t n, ferry_result *r) {
            (void)p; (void)n;
            if (strcmp(method, "Readings") != 0) { r->set_error(r->context, "only Readings"); return FERRY_UNSUPPORTED; }
            int v = ++((counter *)instance)->count;
            uint8_t doc[] = {31,0,0,0, 3,'r','e','a','d','i','n','g','s',0, 16,0,0,0, 16,'c','o','u','n','t',0,
                             (uint8_t)v,(uint8_t)(v>>8),(uint8_t)(v>>16),(uint8_t)(v>>24), 0, 0};
            r->set_document(r->context, doc, sizeof doc); return FERRY_OK;
        }
        static const char *const methods[] = {"Readings", NULL};
        static ferry_status init(const ferry_host_api *host, ferry_result *r) {
            ferry_model m = {sizeof m, "rdk:component:sensor", "acme:demo:counter", methods, 0, NULL,
                             create, NULL, close_counter, capture, NULL};
            return host->register_model(host->host_context, &m);
        }
        FERRY_DECLARE_PLUGIN("acme-counter", "1.0.0", init)
        """

    @Test func aPluginBuiltWithPlainCCIsLoadedFromModulesAndCaptured() throws {
        let dir = try TemporaryDirectory("ferry-thirdparty")
        defer { dir.remove() }
        try Self.source.write(toFile: dir.file("counter.c"), atomically: true, encoding: .utf8)
        let cc = try FerryProcess.run(
            [
                "-shared", "-fPIC", "-Wall", "-Werror", "-I", Self.repositoryRoot.appendingPathComponent("SDK/include").path,
                "-o", dir.file("libcounter.so"), dir.file("counter.c"),
            ], executable: "/usr/bin/cc")
        #expect(cc.status == 0, "cc failed: \(cc.stderr)")

        let capture = dir.file("capture")
        try """
        {"modules": [{"type": "local", "name": "counter", "executable_path": "libcounter.so"}],
         "components": [{"name": "c", "api": "rdk:component:sensor", "model": "acme:demo:counter",
           "service_configs": [{"type": "data_manager", "attributes": {"capture_methods": [{"method": "Readings", "capture_frequency_hz": 100}]}}]}],
         "services": [{"name": "dm", "type": "data_manager", "attributes": {"capture_dir": "capture", "sync_disabled": true}}]}
        """.write(toFile: dir.file("machine.json"), atomically: true, encoding: .utf8)
        let host = try FerryProcess(["run", dir.file("machine.json")])
        #expect(eventually { !CaptureRecovery.files(in: capture, withExtension: "prog").isEmpty })
        #expect(try eventually { try FerryProcess.run(["capture", "cat", capture]).stdout.split(separator: "\n").count >= 2 })
        host.signal(SIGINT)
        let run = host.wait()
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("loaded plugin acme-counter 1.0.0"))
        let cat = try FerryProcess.run(["capture", "cat", capture])
        let counts = try cat.stdout.split(separator: "\n").map {
            try BSONDocument(extendedJSON: String($0))["data"]?.documentValue?["readings"]?.documentValue?["count"]?.doubleValue
        }
        #expect(counts.count >= 2)
        // The counter counted up, one per capture, in order.
        #expect(counts == (1...counts.count).map { Double($0) })

        let inspect = try FerryProcess.run(["plugin", "inspect", dir.file("libcounter.so")])
        #expect(inspect.stdout.contains("plugin   acme-counter 1.0.0"))
        #expect(inspect.stdout.contains("rdk:component:sensor  acme:demo:counter"))
    }
}
