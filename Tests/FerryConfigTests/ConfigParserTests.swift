import FerryBSON
import Foundation
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

    @Test func tildeIsHOMEAsAShellExpandsIt() {
        #expect(ConfigParser.resolve("~/data", against: "/etc") == (ProcessInfo.processInfo.environment["HOME"] ?? "") + "/data")
    }

    @Test func anEmptyCaptureDirIsTheDefault() throws {
        let config = try parse(#"{"services": [{"name": "dm", "type": "data_manager", "attributes": {"capture_dir": ""}}]}"#)
        #expect(config.dataManager.captureDir == ConfigParser.homeDirectory + "/.ferry/capture")
    }

    @Test func keysFerryDoesNotActOnAreWarnedAboutOnceEach() throws {
        let config = try parse(
            """
            {"components": [
                {"name": "a", "api": "rdk:component:sensor", "model": "fake", "frame": {"parent": "world"},
                 "service_configs": [{"type": "data_manager", "attributes": {"retention_policy": {"days": 5}, "capture_methods": [
                    {"method": "Readings", "capture_frequency_hz": 1, "cache_size_kb": 10}]}}]},
                {"name": "b", "api": "rdk:component:sensor", "model": "fake", "frame": {"parent": "world"}}],
             "services": [{"name": "dm", "type": "data_manager", "attributes": {"delete_data_on_part_deletion": true, "sync_intervall_mins": 2}}],
             "network": {"bind_address": ":8080"}, "procesess": []}
            """)
        let byKey = Dictionary(uniqueKeysWithValues: config.warnings.map { ($0.key, $0) })
        #expect(
            Set(byKey.keys) == [
                "frame", "cache_size_kb", "delete_data_on_part_deletion", "sync_intervall_mins", "network",
                "procesess",
            ])
        #expect(byKey["frame"]?.paths == ["components[0].frame", "components[1].frame"], "one warning for both")
        #expect(byKey["frame"]?.description == "frame (components[0].frame, components[1].frame) has no effect in Ferry: Ferry has no frame system")
        #expect(byKey["network"]?.reason.contains("ferry run --listen") == true)
        #expect(byKey["sync_intervall_mins"]?.reason.contains("a typo?") == true, "unknown keys are warned about too")
        #expect(byKey["procesess"]?.paths == ["procesess"])
    }

    /// Viam's `auth.handlers`: an api-key handler maps key ids to keys and lists the ids.
    @Test func machineAPIKeysComeFromViamsAuthHandlers() throws {
        let config = try parse(
            """
            {"auth": {"handlers": [{"type": "api-key", "config": {
                "0c5e1d2a-1111-4f6e-9a77-aaaaaaaaaaaa": "k1-0123456789abcdef", "7d1b2c3e-2222-4f6e-9a77-bbbbbbbbbbbb": "k2-0123456789abcdef",
                "keys": ["0c5e1d2a-1111-4f6e-9a77-aaaaaaaaaaaa", "7d1b2c3e-2222-4f6e-9a77-bbbbbbbbbbbb"]}}]},
             "services": [{"name": "dm", "type": "data_manager", "attributes": {"ferry": {
                "api_key_roles": {"7d1b2c3e-2222-4f6e-9a77-bbbbbbbbbbbb": "viewer"}}}}]}
            """)
        #expect(
            config.apiKeys == [
                MachineAPIKey(id: "0c5e1d2a-1111-4f6e-9a77-aaaaaaaaaaaa", key: "k1-0123456789abcdef", role: .owner),
                MachineAPIKey(id: "7d1b2c3e-2222-4f6e-9a77-bbbbbbbbbbbb", key: "k2-0123456789abcdef", role: .viewer),
            ])
        #expect(config.dataManager.serviceName == "dm")
        #expect(config.warnings.isEmpty)
    }

    @Test func badMachineAPIKeysSayWhatIsWrong() {
        let handler = #"{"auth": {"handlers": [{"type": "api-key", "config": "#
        #expect(faults(handler + #"{"id-1": "0123456789abcdef"}}]}}"#) == [
            #"auth.handlers[0].config.keys: is required: the list of key ids, e.g. ["<key id>"]"#
        ])
        #expect(faults(handler + #"{"id-1": "short", "keys": ["id-1", "id-2"]}}]}}"#) == [
            "auth.handlers[0].config.id-1: an API key needs at least 16 characters (e.g. `openssl rand -hex 16`)",
            #"auth.handlers[0].config.keys[1]: lists key id "id-2", but config has no "id-2": "<key>" member"#,
        ])
        #expect(faults(#"{"services": [{"name": "dm", "type": "data_manager", "attributes": {"ferry": {"api_key_roles": {"x": "admin"}}}}]}"#) == [
            #"services[0].attributes.ferry.api_key_roles.x: expected one of "owner", "operator", "viewer", got the string "admin""#
        ])
        #expect(faults(#"{"services": [{"name": "dm", "type": "data_manager", "attributes": {"ferry": {"api_key_roles": {"x": "viewer"}}}}]}"#) == [
            #"services[0].attributes.ferry.api_key_roles.x: no auth.handlers api-key entry has key id "x""#
        ])
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
            #"components[1].name: duplicate name "a" (also at components[0]); component and service names must be unique"#,
            #"components[1].depends_on[0]: no component, service or remote is named "b""#,
        ])
    }

    @Test func servicesOtherThanTheDataManagerAreResourcesWithCaptureMethods() throws {
        let config = try parse(
            """
            {"components": [{"name": "camera-1", "namespace": "rdk", "type": "camera", "model": "fake"}],
             "services": [
                {"name": "vision-1", "namespace": "rdk", "type": "vision", "model": "fake", "depends_on": ["camera-1"],
                 "service_configs": [{"type": "data_manager", "attributes": {"capture_methods": [
                    {"method": "CaptureAllFromCamera", "capture_frequency_hz": 1,
                     "additional_params": {"camera_name": "camera-1", "min_confidence_score": "0.7"}}]}}]},
                {"name": "dm", "namespace": "rdk", "type": "data_manager", "attributes": {"sync_disabled": true}}]}
            """)
        #expect(config.services.map(\.name) == ["vision-1"])
        let vision = try #require(config.services.first)
        #expect(vision.api == "rdk:service:vision")
        #expect(vision.model == "rdk:builtin:fake")
        #expect(vision.path == "services[0]")
        #expect(vision.captureMethods.map(\.method) == ["CaptureAllFromCamera"])
        #expect(config.dataManager.syncDisabled, "the data manager is still the data manager")
        #expect(faults(#"{"components": [{"name": "x", "type": "camera", "model": "fake"}], "services": [{"name": "x", "type": "vision", "model": "fake"}]}"#) == [
            #"services[0].name: duplicate name "x" (also at components[0]); component and service names must be unique"#
        ])
    }

    /// Viam's remotes[]: the capture methods name the remote resource; depends_on may name a remote.
    @Test func remotePartsAsViamWritesThem() throws {
        let config = try parse(
            """
            {"components": [{"name": "cam", "type": "camera", "model": "fake", "depends_on": ["esp-home"]}],
             "remotes": [{"name": "esp-home", "address": "10.1.2.3:8081", "insecure": false,
               "auth": {"credentials": {"type": "api-key", "payload": "remote-key-0123456789"}, "entity": "0c5e1d2a-1111-4f6e-9a77-aaaaaaaaaaaa"},
               "ferry": {"ca_cert": "certs/remote.pem"}, "secret": "REDACTED",
               "service_configs": [{"type": "data_manager", "attributes": {"capture_methods": [
                 {"method": "Analogs", "capture_frequency_hz": 1, "cache_size_kb": 10, "name": "rdk:component:board/my-esp32",
                  "additional_params": {"reader_name": "A1"}, "disabled": false},
                 {"method": "Readings", "capture_frequency_hz": 2, "name": "rdk:component:sensor/temp", "disabled": true}]}}]},
              {"name": "pi", "address": "pi-test-main.local"}, {"name": "lab", "address": "lab", "insecure": true}]}
            """)
        #expect(config.remotes.map(\.name) == ["esp-home", "pi", "lab"])
        let esp = config.remotes[0]
        #expect(esp.address == "10.1.2.3:8081")
        #expect(esp.apiKeyID == "0c5e1d2a-1111-4f6e-9a77-aaaaaaaaaaaa" && esp.apiKey == "remote-key-0123456789")
        #expect(esp.caCert == "/etc/ferry/certs/remote.pem")
        #expect(
            esp.captureMethods == [
                RemoteCaptureMethod(
                    api: "rdk:component:board", resource: "my-esp32", method: "Analogs", frequencyHz: 1, additionalParams: ["reader_name": "A1"],
                    disabled: false, path: "remotes[0].service_configs[0].attributes.capture_methods[0]"),
                RemoteCaptureMethod(
                    api: "rdk:component:sensor", resource: "temp", method: "Readings", frequencyHz: 2, additionalParams: [:], disabled: true,
                    path: "remotes[0].service_configs[0].attributes.capture_methods[1]"),
            ])
        #expect(config.remotes[1].port == 443 && config.remotes[2].port == 80, "Viam's SDK ports when the address has none")
        #expect(Set(config.warnings.map(\.key)) == ["secret", "cache_size_kb"])
    }

    @Test func badRemotesSayWhatIsWrong() {
        func remote(_ body: String) -> String { #"{"remotes": [\#(body)]}"# }
        let method = #""service_configs": [{"type": "data_manager", "attributes": {"capture_methods": [{"method": "Readings", "capture_frequency_hz": 1"#
        #expect(faults(remote(#"{"name": "r", "address": "h:1", \#(method)}]}}]}"#)) == [
            #"remotes[0].service_configs[0].attributes.capture_methods[0].name: is required for a remote's capture method: the remote resource, e.g. "rdk:component:board/my-esp32""#
        ])
        #expect(faults(remote(#"{"name": "r", "address": "h:1", \#(method), "name": "temp"}]}}]}"#)) == [
            #"remotes[0].service_configs[0].attributes.capture_methods[0].name: "temp" is not <API triplet>/<resource name>, e.g. "rdk:component:board/my-esp32""#
        ])
        #expect(faults(remote(#"{"name": "r", "address": "h:99999"}"#)) == [#"remotes[0].address: "h:99999": the port must be a number from 1 to 65535"#])
        #expect(faults(remote(#"{"name": "r"}"#)) == ["remotes[0].address: is required (a string)"])
        #expect(faults(remote(#"{"name": "r", "address": "h:1", "auth": {"credentials": {"type": "robot-location-secret", "payload": "s"}, "entity": "e"}}"#)) == [
            #"remotes[0].auth.credentials.type: "robot-location-secret" credentials are not supported; use an API key: {"type": "api-key", "payload": "<key>"} with "entity": "<key id>""#
        ])
        #expect(faults(#"{"components": [{"name": "r", "type": "sensor", "model": "fake"}], "remotes": [{"name": "r", "address": "h:1"}]}"#) == [
            #"remotes[0].name: duplicate name "r" (also at components[0]); a remote needs a name of its own"#
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
            "\(path).ferry.sever: unknown key; expected one of api_key, api_key_id, api_key_roles, archive_dir, ca_cert, capture_dir_max_bytes, data_dir, fsync_interval_ms, insecure, listen, module_cache, pipeline_start_delay_secs, registry, registry_ca, registry_trust, server"
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
        let replicas = try parse(service(#"{"ferry": {"server": ["db1:8080", "db2:8080"], "api_key_id": "k", "api_key": "s"}}"#))
        #expect(replicas.dataManager.ferry.servers == ["db1:8080", "db2:8080"] && replicas.dataManager.ferry.server == "db1:8080")
        #expect(faults(service(#"{"ferry": {"server": ["db1:8080", "db2"], "api_key_id": "k", "api_key": "s"}}"#)) == [
            #"\#(path).ferry.server[1]: "db2" is not HOST:PORT"#
        ])
        #expect(faults(service(#"{"ferry": {"server": ["db1:8080", "db1:8080"], "api_key_id": "k", "api_key": "s"}}"#)) == [
            "\(path).ferry.server: names a server twice (db1:8080, db1:8080); list each replica once"
        ])
        #expect(faults(service(#"{"ferry": {"server": []}}"#)) == [
            "\(path).ferry.server: an empty list: name at least one HOST:PORT, or remove it for the embedded data server"
        ])
    }

    @Test func moduleErrors() {
        #expect(faults(#"{"modules": [{"name": "m", "type": "docker"}]}"#) == [#"modules[0].type: "docker" is not a module type; expected "local" or "registry""#])
        #expect(faults(#"{"modules": [{"name": "m", "type": "local"}]}"#) == ["modules[0].executable_path: is required (a string)"])
    }

    @Test func moduleIsolationDefaultsAndLimits() throws {
        let config = try parse(
            #"""
            {"modules": [{"type": "local", "name": "here", "executable_path": "/p/libhere.so"},
                         {"type": "registry", "name": "there", "module_id": "acme:there"},
                         {"type": "local", "name": "boxed", "executable_path": "/p/libboxed.so", "isolation": "process",
                          "call_timeout_ms": 250, "create_timeout_ms": 20000, "memory_limit_mb": 512},
                         {"type": "registry", "name": "trusted", "module_id": "acme:trusted", "isolation": "in-process"}]}
            """#)
        #expect(config.modules.map { $0.runsIsolated(isolateAll: false) } == [false, true, true, false])
        #expect(config.modules.map { $0.runsIsolated(isolateAll: true) } == [true, true, true, true])
        #expect(config.modules[2].callTimeout == .milliseconds(250) && config.modules[2].createTimeout == .seconds(20))
        #expect(config.modules[2].memoryLimitMB == 512)
        #expect(config.modules[0].callTimeout == nil && config.modules[0].isolation == nil)
    }

    @Test func moduleIsolationErrors() {
        #expect(faults(#"{"modules": [{"name": "m", "executable_path": "/l.so", "isolation": "sandbox"}]}"#) == [
            #"modules[0].isolation: "sandbox" is not an isolation; expected "process" (a child process of its own) or "in-process" (loaded into the host)"#
        ])
        #expect(faults(#"{"modules": [{"name": "m", "executable_path": "/l.so", "call_timeout_ms": 0, "memory_limit_mb": "lots"}]}"#) == [
            "modules[0].call_timeout_ms: must be at least 1, got 0", #"modules[0].memory_limit_mb: expected an integer, got the string "lots""#,
        ])
        #expect(faults(#"{"modules": [{"name": "m", "executable_path": "/l.so", "isolation": "in-process", "call_timeout_ms": 100}]}"#) == [
            #"modules[0].call_timeout_ms: applies only to a module in a process of its own; remove it, or set "isolation": "process""#
        ])
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
