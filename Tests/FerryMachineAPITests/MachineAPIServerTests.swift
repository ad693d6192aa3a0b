import FerryBSON
import FerryConfig
import FerryLoader
import FerryTestSupport
import Foundation
import Synchronization
import GRPCCore
import GRPCNIOTransportHTTP2
import Testing
import ViamGRPC
import ViamMachineGRPC
import ViamMachineProtos
import ViamProtos

@testable import FerryMachine
@testable import FerryMachineAPI

/// The machine API server over a real machine (the fake plugin's models), plain HTTP/2 on
/// loopback, through the generated clients: authentication, roles, errors, live key changes.
@Suite(.serialized) struct MachineAPIServerTests {
    static let owner = (id: "11111111-2222-4333-8444-555555555555", key: "owner-key-0123456789abcdef")
    static let viewer = (id: "66666666-7777-4888-9999-aaaaaaaaaaaa", key: "viewer-key-0123456789abcdef")

    final class Harness: @unchecked Sendable {
        // @unchecked: set up once, then only read.
        let dir: TemporaryDirectory
        let machine: Machine
        var port = 0
        var server: Task<Void, any Error>?
        let syncs = Counter()

        init() throws {
            dir = try TemporaryDirectory("ferry-machine-api")
            try Self.config(dir: dir, withViewer: true).write(toFile: dir.file("machine.json"), atomically: true, encoding: .utf8)
            let registry = PluginRegistry()
            try registry.load(path: BuiltProducts.library("FerryFake"))
            var options = Machine.Options()
            options.pollInterval = .milliseconds(100)
            machine = Machine(configPath: dir.file("machine.json"), registry: registry, options: options)
            try machine.start()
        }

        static func config(dir: TemporaryDirectory, withViewer: Bool) -> String {
            let keys = withViewer
                ? #""\#(owner.id)": "\#(owner.key)", "\#(viewer.id)": "\#(viewer.key)", "keys": ["\#(owner.id)", "\#(viewer.id)"]"#
                : #""\#(owner.id)": "\#(owner.key)", "keys": ["\#(owner.id)"]"#
            let roles = withViewer ? #", "ferry": {"api_key_roles": {"\#(viewer.id)": "viewer"}}"# : ""
            return """
                {"components": [{"name": "temp", "type": "sensor", "model": "fake"}, {"name": "ghost", "type": "sensor", "model": "acme:none:nothing"}],
                 "services": [{"name": "dm", "type": "data_manager", "attributes": {"capture_dir": "\(dir.file("capture"))", "sync_disabled": true\(roles)}}],
                 "auth": {"handlers": [{"type": "api-key", "config": {\(keys)}}]}}
                """
        }

        func start() async throws {
            var options = MachineAPIServer.Options()
            options.port = 0
            let server = MachineAPIServer(machine: machine, tokenSecretFile: dir.file("token-secret"), options: options) { [syncs] in
                syncs.add()
                return true
            }
            let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
            self.server = Task { try await server.run { continuation.yield($0) } }
            var iterator = ports.makeAsyncIterator()
            port = try #require(await iterator.next())
        }

        func stop() {
            server?.cancel()
            machine.stop()
            dir.remove()
        }

        /// Runs `body` with a client connected to the server.
        func withClient<T: Sendable>(_ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> T) async throws -> T {
            let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
            return try await withGRPCClient(transport: transport) { try await body($0) }
        }

        func token(_ client: GRPCClient<HTTP2ClientTransport.Posix>, id: String, key: String) async throws -> Metadata {
            var request = Proto_Rpc_V1_AuthenticateRequest()
            request.entity = id
            request.credentials.type = "api-key"
            request.credentials.payload = key
            let response = try await Proto_Rpc_V1_AuthService.Client(wrapping: client).authenticate(request)
            return ["authorization": "Bearer \(response.accessToken)"]
        }
    }

    final class Counter: Sendable {
        private let count = Mutex(0)
        func add() { count.withLock { $0 += 1 } }
        var value: Int { count.withLock { $0 } }
    }

    static func code(_ body: () async throws -> Void) async -> RPCError.Code? {
        do {
            try await body()
            return nil
        } catch let error as RPCError {
            return error.code
        } catch {
            return .unknown
        }
    }

    @Test func readsAndRefusals() async throws {
        let harness = try Harness()
        defer { harness.stop() }
        try await harness.start()
        try await harness.withClient { client in
            let robot = Viam_Robot_V1_RobotService.Client(wrapping: client)
            let sensor = Viam_Component_Sensor_V1_SensorService.Client(wrapping: client)
            // No token, a wrong key, an unknown key id: refused.
            #expect(await Self.code { _ = try await robot.resourceNames(Viam_Robot_V1_ResourceNamesRequest()) } == .unauthenticated)
            #expect(await Self.code { _ = try await harness.token(client, id: Self.owner.id, key: "wrong-key-0123456789abcdef") } == .unauthenticated)
            #expect(await Self.code { _ = try await harness.token(client, id: UUID().uuidString, key: Self.owner.key) } == .unauthenticated)

            let owner = try await harness.token(client, id: Self.owner.id, key: Self.owner.key)
            let names = try await robot.resourceNames(Viam_Robot_V1_ResourceNamesRequest(), metadata: owner).resources
            #expect(Set(names.map { "\($0.namespace):\($0.type):\($0.subtype)/\($0.name)" }) == [
                "rdk:component:sensor/temp", "rdk:component:sensor/ghost", "rdk:service:data_manager/dm",
            ])
            let status = try await robot.getMachineStatus(Viam_Robot_V1_GetMachineStatusRequest(), metadata: owner)
            let ghost = try #require(status.resources.first { $0.name.name == "ghost" })
            #expect(ghost.state == .unhealthy && ghost.error.contains("acme:none:nothing"), "\(ghost)")
            #expect(status.resources.first { $0.name.name == "temp" }?.state == .ready)

            var request = Viam_Common_V1_GetReadingsRequest()
            request.name = "temp"
            let readings = try await sensor.getReadings(request, metadata: owner).readings
            #expect(readings["temperature_celsius"]?.numberValue != nil)
            request.name = "nope"
            #expect(await Self.code { _ = try await sensor.getReadings(request, metadata: owner) } == .notFound)
            request.name = "ghost"
            #expect(await Self.code { _ = try await sensor.getReadings(request, metadata: owner) } == .unavailable, "configured but not running")
            // A method Ferry does not serve answers UNIMPLEMENTED (gRPC's own).
            #expect(await Self.code {
                _ = try await Viam_Component_Motor_V1_MotorService.Client(wrapping: client).setPower(.init(), metadata: owner)
            } == .unimplemented)

            var sync = Viam_Service_Datamanager_V1_SyncRequest()
            sync.name = "dm"
            _ = try await Viam_Service_Datamanager_V1_DataManagerService.Client(wrapping: client).sync(sync, metadata: owner)
            #expect(harness.syncs.value == 1)

            // A viewer reads, but may neither DoCommand nor sync.
            let viewer = try await harness.token(client, id: Self.viewer.id, key: Self.viewer.key)
            request.name = "temp"
            _ = try await sensor.getReadings(request, metadata: viewer)
            var command = Viam_Common_V1_DoCommandRequest()
            command.name = "temp"
            #expect(await Self.code { _ = try await sensor.doCommand(command, metadata: viewer) } == .permissionDenied)
            #expect(await Self.code {
                _ = try await Viam_Service_Datamanager_V1_DataManagerService.Client(wrapping: client).sync(sync, metadata: viewer)
            } == .permissionDenied)
            let echoed = try await sensor.doCommand(command, metadata: owner)
            #expect(echoed.result == command.command)
        }
    }

    /// A key taken out of the config stops working while the host runs: its tokens are refused
    /// within the revocation check's cache time, with no restart.
    @Test func aKeyRemovedByAConfigEditStopsWorking() async throws {
        let harness = try Harness()
        defer { harness.stop() }
        try await harness.start()
        try await harness.withClient { client in
            let robot = Viam_Robot_V1_RobotService.Client(wrapping: client)
            let viewer = try await harness.token(client, id: Self.viewer.id, key: Self.viewer.key)
            _ = try await robot.getVersion(.init(), metadata: viewer)
            try Harness.config(dir: harness.dir, withViewer: false).write(
                toFile: harness.dir.file("machine.json.tmp"), atomically: true, encoding: .utf8)
            _ = rename(harness.dir.file("machine.json.tmp"), harness.dir.file("machine.json"))
            var refused = false
            for _ in 0..<200 where !refused {
                refused = await Self.code { _ = try await robot.getVersion(.init(), metadata: viewer) } == .unauthenticated
                if !refused { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(refused, "the removed key's token still works")
            #expect(await Self.code { _ = try await harness.token(client, id: Self.viewer.id, key: Self.viewer.key) } == .unauthenticated)
        }
    }

    /// The machine API answers while the machine's control queue is busy (a reload, or a collector
    /// being stopped while its remote call times out): keys, resources and instances are read from
    /// their own locks, never through that queue.
    @Test func answersWhileTheControlQueueIsBusy() async throws {
        let harness = try Harness()
        defer { harness.stop() }
        try await harness.start()
        let gate = DispatchSemaphore(value: 0)
        let busy = DispatchSemaphore(value: 0)
        harness.machine.control.async {
            busy.signal()
            gate.wait()
        }
        busy.wait()
        defer { gate.signal() }
        // A deadline turns a request stuck behind the control queue into a failure, not a hang.
        var options = CallOptions.defaults
        options.timeout = .seconds(30)
        try await harness.withClient { client in
            let robot = Viam_Robot_V1_RobotService.Client(wrapping: client)
            var authenticate = Proto_Rpc_V1_AuthenticateRequest()
            authenticate.entity = Self.owner.id
            authenticate.credentials.type = "api-key"
            authenticate.credentials.payload = Self.owner.key
            let token = try await Proto_Rpc_V1_AuthService.Client(wrapping: client).authenticate(authenticate, options: options).accessToken
            let owner: Metadata = ["authorization": "Bearer \(token)"]
            let names = try await robot.resourceNames(Viam_Robot_V1_ResourceNamesRequest(), metadata: owner, options: options).resources
            #expect(Set(names.map(\.name)) == ["temp", "ghost", "dm"])
            let status = try await robot.getMachineStatus(Viam_Robot_V1_GetMachineStatusRequest(), metadata: owner, options: options)
            #expect(status.resources.first { $0.name.name == "temp" }?.state == .ready)
            var request = Viam_Common_V1_GetReadingsRequest()
            request.name = "temp"
            let readings = try await Viam_Component_Sensor_V1_SensorService.Client(wrapping: client).getReadings(
                request, metadata: owner, options: options
            ).readings
            #expect(readings["temperature_celsius"]?.numberValue != nil)
        }
        #expect(harness.machine.readings(of: "temp") != nil, "the selective syncer's read does not wait either")
    }
}
