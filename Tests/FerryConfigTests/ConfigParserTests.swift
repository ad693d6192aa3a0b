import FerryBSON
import Testing

@testable import FerryConfig

@Suite struct ConfigParserTests {
    func parse(_ json: String) throws(ConfigError) -> MachineConfig {
        try ConfigParser.parse(json, baseDirectory: "/etc/ferry")
    }

    func faults(_ json: String) -> [String] {
        do {
            _ = try parse(json)
            Issue.record("expected the config to be refused")
            return []
        } catch {
            return error.faults.map(\.description)
        }
    }

    @Test func parsesAViamMachineConfig() throws {
        let config = try parse(
            """
            {
              "components": [
                {"name": "temp", "api": "rdk:component:sensor", "model": "fake", "attributes": {"base_celsius": 20},
                 "service_configs": [{"type": "data_manager", "attributes": {"capture_methods": [
                    {"method": "Readings", "capture_frequency_hz": 2, "additional_params": {"unit": "c"}},
                    {"method": "Readings", "capture_frequency_hz": 1, "disabled": true}]}}]},
                {"name": "cam", "type": "camera", "namespace": "rdk", "model": "acme:cams:thermal", "depends_on": ["temp"]}
              ],
              "services": [{"name": "dm", "api": "rdk:service:data_manager", "model": "rdk:builtin:builtin",
                "attributes": {"capture_dir": "capture", "sync_interval_mins": 0.5, "tags": ["lab"],
                  "maximum_capture_file_size_bytes": 65536, "ferry": {"fsync_interval_ms": 250}}}],
              "modules": [{"type": "local", "name": "m", "executable_path": "plugins/libm.so"}],
              "network": {"bind_address": ":8080"},
              "cloud": {"id": "8e1a6c3e-part", "secret": "viam-cloud-secret", "app_address": "https://app.viam.com:443"}
            }
            """)
        #expect(config.components.count == 2)
        let temp = config.components[0]
        #expect(temp.api == "rdk:component:sensor")
        #expect(temp.model == "rdk:builtin:fake")
        #expect(temp.attributes == ["base_celsius": 20])
        #expect(temp.captureMethods.map(\.frequencyHz) == [2, 1])
        #expect(temp.captureMethods[0].additionalParams == ["unit": "c"])
        #expect(temp.captureMethods[1].disabled)
        #expect(temp.captureMethods[1].path == "components[0].service_configs[0].attributes.capture_methods[1]")
        #expect(config.components[1].api == "rdk:component:camera")
        #expect(config.components[1].dependsOn == ["temp"])
        #expect(config.dataManager.captureDir == "/etc/ferry/capture")
        #expect(config.dataManager.syncInterval == .seconds(30))
        #expect(config.dataManager.tags == ["lab"])
        #expect(config.dataManager.maximumCaptureFileSizeBytes == 65536)
        #expect(config.dataManager.ferry.fsyncInterval == .milliseconds(250))
        #expect(config.dataManager.partID == "8e1a6c3e-part", "Viam's cloud.id names the part every upload carries")
        #expect(config.modules == [ModuleEntry(kind: .local, name: "m", executablePath: "/etc/ferry/plugins/libm.so", moduleID: nil, version: nil, path: "modules[0]")])
    }

    @Test func defaultsFollowViam() throws {
        let config = try parse(#"{"components": []}"#)
        #expect(config.dataManager.maximumCaptureFileSizeBytes == 256 * 1024)
        #expect(config.dataManager.syncInterval == .seconds(6))
        #expect(config.dataManager.deleteEveryNthWhenDiskFull == 5)
        #expect(config.dataManager.captureDir.hasSuffix("/.ferry/capture"))
        #expect(config.dataManager.partID == "")
    }

    @Test func notJSON() {
        let messages = faults(#"{"components": [}"#)
        #expect(messages.count == 1)
        #expect(messages[0].hasPrefix("not valid JSON: "))
    }

    @Test func wrongTypesNameTheirPathAndWhatWasExpected() {
        #expect(faults(#"{"components": {"name": "x"}}"#) == ["components: expected an array, got an object"])
        #expect(faults(#"{"components": [42]}"#) == ["components[0]: expected an object, got the number 42"])
        #expect(faults(#"{"components": [{"name": 7, "api": "rdk:component:sensor", "model": "fake"}]}"#) == [
            "components[0].name: expected a string, got the number 7"
        ])
        #expect(faults(#"{"components": [{"name": "a", "api": "rdk:component:sensor", "model": "fake", "attributes": []}]}"#) == [
            "components[0].attributes: expected an object, got an array"
        ])
        #expect(faults(#"{"cloud": {"id": 42}}"#) == ["cloud.id: expected a string, got the number 42"])
    }

    @Test func missingRequiredFields() {
        #expect(faults(#"{"components": [{"api": "rdk:component:sensor", "model": "fake"}]}"#) == ["components[0].name: is required (a string)"])
        #expect(faults(#"{"components": [{"name": "a", "model": "fake"}]}"#) == [
            #"components[0].api: is required, e.g. "rdk:component:sensor" (or the older "type": "sensor")"#
        ])
        #expect(faults(#"{"components": [{"name": "a", "api": "rdk:component:sensor"}]}"#) == ["components[0].model: is required (a string)"])
    }

    @Test func badNamesAndTriplets() {
        #expect(faults(#"{"components": [{"name": "a", "api": "sensor", "model": "fake"}]}"#) == [
            #"components[0].api: "sensor" is not an API triplet like "rdk:component:sensor""#
        ])
        #expect(faults(#"{"components": [{"name": "a", "api": "rdk:component:sensor", "model": "acme:x"}]}"#) == [
            #"components[0].model: "acme:x" is not a model name like "fake" or "acme:sensors:tmp102""#
        ])
    }

    @Test func duplicateNamesAndDanglingDependencies() {
        let messages = faults(
            #"{"components": [{"name": "a", "api": "rdk:component:sensor", "model": "fake"}, {"name": "a", "api": "rdk:component:motor", "model": "fake", "depends_on": ["b"]}]}"#
        )
        #expect(messages == [
            #"components[1].name: duplicate component name "a" (also at components[0]); names must be unique"#,
            #"components[1].depends_on[0]: no component is named "b""#,
        ])
    }

    @Test func captureMethodErrors() {
        let prefix = #"{"components": [{"name": "a", "api": "rdk:component:sensor", "model": "fake", "service_configs": [{"type": "data_manager", "attributes": {"capture_methods": ["#
        let suffix = "]}}]}]}"
        let path = "components[0].service_configs[0].attributes.capture_methods"
        #expect(faults(prefix + #"{"method": "Readings", "capture_frequency_hz": -1}"# + suffix) == ["\(path)[0].capture_frequency_hz: must be 0 (off) or more, got -1.0"])
        #expect(faults(prefix + #"{"method": "Readings", "capture_frequency_hz": "fast"}"# + suffix) == [#"\#(path)[0].capture_frequency_hz: expected a number, got the string "fast""#])
        #expect(faults(prefix + #"{"method": "Readings"}"# + suffix) == ["\(path)[0].capture_frequency_hz: is required (readings per second, e.g. 1 or 0.5)"])
        #expect(faults(prefix + #"{"capture_frequency_hz": 1}"# + suffix) == ["\(path)[0].method: is required (a string)"])
        #expect(faults(prefix + #"{"method": "Readings", "capture_frequency_hz": 1}, {"method": "Readings", "capture_frequency_hz": 5}"# + suffix) == [
            "\(path)[1]: Readings with the same additional_params is already captured at \(path)[0]"
        ])
    }

    @Test func dataManagerAndFerryKeys() throws {
        let path = "services[0].attributes"
        func service(_ attributes: String) -> String {
            #"{"services": [{"name": "dm", "type": "data_manager", "attributes": \#(attributes)}]}"#
        }
        #expect(faults(service(#"{"sync_interval_mins": 0}"#)) == ["\(path).sync_interval_mins: must be more than 0 (and at most 10⁸ minutes), got 0.0"])
        // A duration that large would not fit Swift's Duration; refused rather than trapping.
        #expect(faults(service(#"{"sync_interval_mins": 1e300}"#)) == ["\(path).sync_interval_mins: must be more than 0 (and at most 10⁸ minutes), got 1e+300"])
        #expect(faults(service(#"{"ferry": {"pipeline_start_delay_secs": 1e300}}"#)) == [
            "\(path).ferry.pipeline_start_delay_secs: must be 0 or more seconds (at most 10⁹), got 1e+300"
        ])
        #expect(faults(service(#"{"maximum_num_sync_threads": 0}"#)) == ["\(path).maximum_num_sync_threads: must be at least 1, got 0"])
        #expect(faults(service(#"{"tags": ["a", 3]}"#)) == ["\(path).tags[1]: expected a string, got the number 3"])
        #expect(faults(service(#"{"ferry": {"sever": "x:1"}}"#)) == [
            "\(path).ferry.sever: unknown key; expected one of api_key, api_key_id, archive_dir, ca_cert, capture_dir_max_bytes, data_dir, fsync_interval_ms, insecure, listen, module_cache, pipeline_start_delay_secs, registry, registry_ca, registry_trust, server"
        ])
        #expect(faults(service(#"{"ferry": {"listen": "nowhere"}}"#)) == [
            #"\#(path).ferry.listen: "nowhere" is not \#(ListenAddress.expected) for the embedded data server"#
        ])
        #expect(faults(service(#"{"ferry": {"listen": "myhost:8080"}}"#)).count == 1, "a host name is not an address to bind")
        #expect(try parse(service(#"{"ferry": {"listen": "localhost:0"}}"#)).dataManager.ferry.listen == "localhost:0")
        #expect(faults(service(#"{"ferry": {"server": "h:1", "api_key_id": "k", "api_key": "s", "data_dir": "d"}}"#)) == [
            "\(path).ferry: data_dir and listen configure the embedded data server, which runs only when no server is named; remove one or the other"
        ])
        #expect(faults(service(#"{"ferry": {"server": "localhost"}}"#)) == [
            #"\#(path).ferry.server: "localhost" is not HOST:PORT"#,
            "\(path).ferry: a server needs api_key_id and api_key (create them with `ferry key create`)",
        ])
    }

    @Test func moduleErrors() {
        #expect(faults(#"{"modules": [{"name": "m", "type": "docker"}]}"#) == [#"modules[0].type: "docker" is not a module type; expected "local" or "registry""#])
        #expect(faults(#"{"modules": [{"name": "m", "type": "local"}]}"#) == ["modules[0].executable_path: is required (a string)"])
    }

    @Test func registryModulesAndTheirSettings() throws {
        let config = try ConfigParser.parse(
            #"""
            {"modules": [{"type": "registry", "name": "acme_tmp117", "module_id": "acme:tmp117", "version": "1.2.*"},
                         {"type": "registry", "name": "other", "module_id": "acme:other"}],
             "services": [{"name": "dm", "type": "data_manager", "attributes": {"ferry": {
                "registry": "registry", "registry_trust": ["keys/acme.pub"], "registry_ca": "ca.pem", "module_cache": "/var/ferry/modules"}}}]}
            """#, baseDirectory: "/etc/ferry")
        #expect(config.modules.map(\.version) == ["1.2.*", "latest"])
        #expect(config.modules[0].moduleID == "acme:tmp117" && config.modules[0].kind == .registry)
        let ferry = config.dataManager.ferry
        #expect(ferry.registry == "/etc/ferry/registry" && ferry.registryTrust == ["/etc/ferry/keys/acme.pub"])
        #expect(ferry.registryCA == "/etc/ferry/ca.pem" && ferry.moduleCache == "/var/ferry/modules")
        let url = try ConfigParser.parse(
            #"{"services": [{"name": "dm", "type": "data_manager", "attributes": {"ferry": {"registry": "https://r.example/fleet"}}}]}"#,
            baseDirectory: "/")
        #expect(url.dataManager.ferry.registry == "https://r.example/fleet")
    }

    @Test func badRegistryModulesAreRefusedWithTheirPaths() {
        let module = { (fields: String) in #"{"modules": [{"type": "registry", "name": "m", \#(fields)}]}"# }
        #expect(faults(module(#""module_id": "acme:x", "version": "1.2""#)) == [
            #"modules[0].version: "1.2" is not a version pin (it needs three numbers, MAJOR.MINOR.PATCH); use 1.2.0, 1.2.*, 1.*, latest or latest-with-prerelease"#
        ])
        #expect(faults(module(#""module_id": "acme/x""#)).first?.hasPrefix(#"modules[0].module_id: "acme/x" is not a module id; write NAMESPACE:NAME"#) == true)
        #expect(faults(module(#""version": "1.0.0""#)) == ["modules[0].module_id: is required (a string)"])
        #expect(faults(#"""
            {"modules": [{"type": "registry", "name": "a", "module_id": "acme:x", "version": "1.0.0"},
                         {"type": "registry", "name": "a", "module_id": "acme:x", "version": "2.0.0"}]}
            """#) == [
            #"modules[1].name: duplicate module name "a" (also at modules[0])"#,
            "modules[1].module_id: acme:x is already configured at modules[0]; a machine runs one version of a module",
        ])
    }

    @Test func everyProblemIsReportedAtOnce() {
        do {
            _ = try ConfigParser.parse(#"{"components": [{"name": 1, "model": 2}]}"#, baseDirectory: "/")
            Issue.record("refused")
        } catch {
            #expect(error.faults.count == 3)
            #expect(error.description.hasPrefix("3 problems:\n  - components[0].name"))
        }
    }
}
