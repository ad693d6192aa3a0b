import FerryBSON
import FerryCapture
import FerryCaptureFile
import FerryConfig
import FerryLoader
import FerryMachine
import FerryTestSupport
import Foundation
import Synchronization
import Testing

/// The machine's collectors for remote parts, on a manual clock and a remote the test switches on
/// and off: readings land under `<remote>:<resource>`, a remote that is down costs failed ticks
/// and nothing else, and captures resume by themselves when it is back.
@Suite(.serialized) struct RemoteCaptureTests {
    final class SwitchableRemote: RemoteConnector, RemotePart, @unchecked Sendable {
        // @unchecked: all state is behind `state`.
        struct State {
            var up = true
            var calls: [String] = []
            var connected: [String] = []
            var closed = 0
        }
        let state = Mutex(State())

        func problem(api: String, method: String, parameters: BSONDocument) -> String? {
            api == "rdk:component:sensor" || api == "rdk:component:board" ? nil : "\(api) is not supported here"
        }
        func connect(_ remote: RemoteEntry) -> any RemotePart {
            state.withLock { $0.connected.append(remote.address) }
            return self
        }
        func capture(api: String, resource: String, method: String, parameters: BSONDocument) throws(PluginCallError) -> CapturedValue {
            let up = state.withLock { state in
                state.calls.append("\(resource).\(method)")
                return state.up
            }
            guard up else { throw PluginCallError(status: .retryLater, message: "remote unreachable") }
            return .tabular(method == "Readings" ? ["readings": ["t": 21.5]] : ["value": .int32(512), "min_range": 0.0, "max_range": 3.3, "step_size": 0.003])
        }
        func close() { state.withLock { $0.closed += 1 } }
    }

    func config(captureDir: String, remoteMethods: String) -> String {
        """
        {"components": [{"name": "local-temp", "type": "sensor", "model": "fake", "service_configs": [{"type": "data_manager",
            "attributes": {"capture_methods": [{"method": "Readings", "capture_frequency_hz": 1}]}}]}],
         "remotes": [{"name": "esp-home", "address": "10.9.8.7:8081", "service_configs": [{"type": "data_manager",
            "attributes": {"capture_methods": [\(remoteMethods)]}}]}],
         "services": [{"name": "dm", "type": "data_manager", "attributes": {"capture_dir": "\(captureDir)", "sync_disabled": true}}]}
        """
    }

    static let boardAndSensor = """
        {"method": "Analogs", "capture_frequency_hz": 1, "name": "rdk:component:board/my-esp32", "additional_params": {"reader_name": "A1"}},
        {"method": "Readings", "capture_frequency_hz": 1, "name": "rdk:component:sensor/temp"}
        """

    @Test func remoteReadingsLandUnderTheRemoteResourcesNameAndADownRemoteCostsOnlyFailedTicks() throws {
        let dir = try TemporaryDirectory("ferry-remote-capture")
        defer { dir.remove() }
        let captureDir = dir.file("capture")
        try config(captureDir: captureDir, remoteMethods: Self.boardAndSensor).write(toFile: dir.file("machine.json"), atomically: true, encoding: .utf8)
        let registry = PluginRegistry()
        try registry.load(path: BuiltProducts.library("FerryFake"))
        let remote = SwitchableRemote()
        let clock = ManualClock()
        var options = Machine.Options()
        options.clock = clock
        options.remotes = remote
        let machine = Machine(configPath: dir.file("machine.json"), registry: registry, options: options)
        try machine.start()
        defer { machine.stop() }
        #expect(remote.state.withLock { $0.connected } == ["10.9.8.7:8081"])

        for _ in 0..<3 { clock.advance(by: .seconds(1)) }
        remote.state.withLock { $0.up = false }
        for _ in 0..<4 { clock.advance(by: .seconds(1)) }
        remote.state.withLock { $0.up = true }
        for _ in 0..<2 { clock.advance(by: .seconds(1)) }

        let stats = machine.collectorStats
        let board = try #require(stats[Collector.Key(component: "esp-home:my-esp32", method: "Analogs", parameters: ["reader_name": "A1"])])
        let sensor = try #require(stats[Collector.Key(component: "esp-home:temp", method: "Readings", parameters: [:])])
        let local = try #require(stats[Collector.Key(component: "local-temp", method: "Readings", parameters: [:])])
        #expect(board.errors == 4 && sensor.errors == 4, "each tick while the remote was down failed and was counted")
        #expect(board.captures == 6 && sensor.captures == 6, "captures resumed on their own")
        #expect(local.captures == 10 && local.errors == 0, "the local sensor never noticed")

        machine.finishCaptureFiles()
        let files = CaptureRecovery.files(in: captureDir, withExtension: CaptureFile.finishedExtension)
        let boardFiles = files.filter { $0.contains("/rdk_component_board/esp-home:my-esp32/Analogs/") }
        #expect(!boardFiles.isEmpty, "\(files)")
        let contents = try CaptureFileReader.read(path: try #require(boardFiles.first))
        #expect(contents.metadata.componentName == "esp-home:my-esp32")
        #expect(contents.metadata.componentType == "rdk:component:board")
        #expect(contents.records.count == 6)
    }

    @Test func aRemoteCaptureMethodTheClientCannotMakeIsRefusedAtLoad() throws {
        let dir = try TemporaryDirectory("ferry-remote-capture")
        defer { dir.remove() }
        let methods = #"{"method": "Position", "capture_frequency_hz": 1, "name": "rdk:component:motor/wheel"}"#
        try config(captureDir: dir.file("capture"), remoteMethods: methods).write(toFile: dir.file("machine.json"), atomically: true, encoding: .utf8)
        var options = Machine.Options()
        options.remotes = SwitchableRemote()
        let machine = Machine(configPath: dir.file("machine.json"), registry: PluginRegistry(), options: options)
        let error = #expect(throws: ConfigError.self) { try machine.start() }
        #expect(error?.faults.map(\.description) == [
            "remotes[0].service_configs[0].attributes.capture_methods[0].method: rdk:component:motor is not supported here"
        ])
    }
}
