import FerryBSON
import Foundation
import Testing

@testable import FerryConfig

/// Viam's `retention_policy`: beside `capture_methods` (as Viam's camera example writes it) it is
/// every method's of the resource; in a capture method it is that method's own.
@Suite struct RetentionPolicyConfigTests {
    func parse(_ json: String) throws(ConfigError) -> MachineConfig { try ConfigParser.parse(json, baseDirectory: "/etc/ferry") }

    func faults(_ json: String) -> [String] {
        do {
            _ = try parse(json)
            Issue.record("expected the config to be refused")
            return []
        } catch {
            return error.faults.map(\.description)
        }
    }

    /// A camera with `methods` (JSON of capture_methods entries) and `policy` beside them.
    func camera(_ methods: String, policy: String? = nil) -> String {
        let shared = policy.map { #", "retention_policy": \#($0)"# } ?? ""
        return """
            {"components": [{"name": "cam", "api": "rdk:component:camera", "model": "fake",
              "service_configs": [{"type": "data_manager", "attributes": {"capture_methods": [\(methods)]\(shared)}}]}]}
            """
    }

    @Test func viamsCameraExampleSetsThePolicyOfEveryMethod() throws {
        let config = try parse(
            camera(
                #"{"method": "ReadImage", "capture_frequency_hz": 0.333, "additional_params": {"mime_type": "image/jpeg"}}, {"method": "GetImages", "capture_frequency_hz": 1}"#,
                policy: #"{"days": 5}"#))
        #expect(config.warnings.isEmpty, "\(config.warnings)")
        #expect(config.components[0].captureMethods.map(\.retentionPolicy) == [RetentionPolicyConfig(days: 5), RetentionPolicyConfig(days: 5)])
        #expect(
            config.dataManager.retentionPolicies == [
                CapturedMethod(component: "cam", method: "ReadImage"): RetentionPolicyConfig(days: 5),
                CapturedMethod(component: "cam", method: "GetImages"): RetentionPolicyConfig(days: 5),
            ])
        #expect(config.dataManager.retentionPolicies.values.first?.headerValue == #"{"days":5}"#)
    }

    @Test func aMethodsOwnPolicyTakesPrecedenceAndAMethodWithoutOneHasNone() throws {
        let config = try parse(
            """
            {"components": [
              {"name": "cam", "api": "rdk:component:camera", "model": "fake", "service_configs": [{"type": "data_manager", "attributes": {
                "retention_policy": {"days": 30},
                "capture_methods": [{"method": "ReadImage", "capture_frequency_hz": 1,
                                     "retention_policy": {"binary_limit_gb": 2, "tabular_limit_gb": 0.5}}]}}]},
              {"name": "temp", "api": "rdk:component:sensor", "model": "fake", "service_configs": [{"type": "data_manager", "attributes": {
                "capture_methods": [{"method": "Readings", "capture_frequency_hz": 1}]}}]}],
             "remotes": [{"name": "esp", "address": "127.0.0.1:9", "service_configs": [{"type": "data_manager", "attributes": {
                "capture_methods": [{"name": "rdk:component:board/b", "method": "Analogs", "capture_frequency_hz": 1, "retention_policy": {"days": 1}}]}}]}]}
            """)
        let own = RetentionPolicyConfig(binaryLimitGB: 2, tabularLimitGB: 0.5)
        #expect(
            config.dataManager.retentionPolicies == [
                CapturedMethod(component: "cam", method: "ReadImage"): own,
                CapturedMethod(component: "temp", method: "Readings"): RetentionPolicyConfig(),
                CapturedMethod(component: "esp:b", method: "Analogs"): RetentionPolicyConfig(days: 1),
            ])
        #expect(own.headerValue == #"{"binary_limit_gb":2.0,"tabular_limit_gb":0.5}"#)
        #expect(RetentionPolicyConfig().headerValue == "{}", "no policy: the server drops the one it had")
    }

    @Test func badPoliciesSayWhereAndWhatIsExpected() {
        let method = #"{"method": "ReadImage", "capture_frequency_hz": 1"#
        let path = "components[0].service_configs[0].attributes"
        #expect(faults(camera(method + "}", policy: #"{"days": 0}"#)) == ["\(path).retention_policy.days: must be at least 1, got 0"])
        #expect(faults(camera(method + "}", policy: #"{"days": 1.5}"#)) == ["\(path).retention_policy.days: expected an integer, got the number 1.5"])
        #expect(faults(camera(method + "}", policy: "5")) == ["\(path).retention_policy: expected an object, got the number 5"])
        #expect(
            faults(camera(method + "}", policy: #"{"day": 5}"#)) == [
                "\(path).retention_policy.day: unknown key; expected one of binary_limit_gb, days, tabular_limit_gb"
            ])
        #expect(
            faults(camera(method + "}", policy: "{}")) == [
                #"\#(path).retention_policy: is empty; give days, binary_limit_gb or tabular_limit_gb, e.g. {"days": 30}"#
            ])
        #expect(
            faults(camera(method + #", "retention_policy": {"binary_limit_gb": -1, "tabular_limit_gb": "1"}}"#)) == [
                "\(path).capture_methods[0].retention_policy.binary_limit_gb: gigabytes (10⁹ bytes) more than 0 (and at most 10⁹), got -1.0",
                #"\#(path).capture_methods[0].retention_policy.tabular_limit_gb: expected a number, got the string "1""#,
            ])
        // The server keeps one policy per component and method.
        #expect(
            faults(
                camera(
                    method + #", "additional_params": {"mime_type": "image/jpeg"}, "retention_policy": {"days": 1}}, "#
                        + method + #", "additional_params": {"mime_type": "image/png"}}"#)) == [
                    "\(path).capture_methods[1].retention_policy: differs from the retention policy of ReadImage at \(path).capture_methods[0]; the data server keeps one policy per component and method"
                ])
    }
}
