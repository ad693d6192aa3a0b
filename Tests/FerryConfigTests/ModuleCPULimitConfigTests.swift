import FerryBSON
import Foundation
import Testing

@testable import FerryConfig

/// `cpu_limit_percent` on a module: a share of one CPU, for modules in a process of their own.
@Suite struct ModuleCPULimitConfigTests {
    func faults(_ json: String) -> [String] {
        do {
            _ = try ConfigParser.parse(json, baseDirectory: "/etc/ferry")
            Issue.record("expected the config to be refused")
            return []
        } catch {
            return error.faults.map(\.description)
        }
    }

    @Test func aShareOfOneCPUIsReadAsAPercentage() throws {
        let config = try ConfigParser.parse(
            #"""
            {"modules": [{"name": "half", "executable_path": "/p/a.so", "isolation": "process", "cpu_limit_percent": 50},
                         {"name": "two", "type": "registry", "module_id": "acme:two", "cpu_limit_percent": 200.5},
                         {"name": "free", "executable_path": "/p/b.so", "isolation": "process"}]}
            """#, baseDirectory: "/etc/ferry")
        #expect(config.modules.map(\.cpuLimitPercent) == [50, 200.5, nil])
    }

    @Test func aBadLimitIsRefusedNamingTheKeyAndTheRange() {
        #expect(faults(#"{"modules": [{"name": "m", "executable_path": "/l.so", "isolation": "process", "cpu_limit_percent": 0}]}"#) == [
            "modules[0].cpu_limit_percent: must be from 1 to 100000 (percent of one CPU: 50 is half a core, 200 two cores), got 0.0"
        ])
        #expect(faults(#"{"modules": [{"name": "m", "executable_path": "/l.so", "isolation": "process", "cpu_limit_percent": "50%"}]}"#) == [
            #"modules[0].cpu_limit_percent: expected a number, got the string "50%""#
        ])
        #expect(faults(#"{"modules": [{"name": "m", "executable_path": "/l.so", "isolation": "in-process", "cpu_limit_percent": 50}]}"#) == [
            #"modules[0].cpu_limit_percent: applies only to a module in a process of its own; remove it, or set "isolation": "process""#
        ])
    }
}
