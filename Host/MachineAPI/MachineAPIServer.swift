import FerryAPI
import FerryMachine
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ViamGRPC
import ViamMachineGRPC

/// `ferry run --listen`: the host as a Viam machine. Viam's machine API (the robot service, the
/// nine component services, the data manager's Sync) over gRPC, with the same API-key
/// authentication as `ferry serve`: `proto.rpc.v1.AuthService/Authenticate` trades a key from the
/// config's `auth.handlers` for a bearer token that every other call carries.
package struct MachineAPIServer: Sendable {
    package struct Options: Sendable {
        package var host = "127.0.0.1"
        package var port = 8081
        /// nil: plain HTTP/2 (h2c). Otherwise the certificate chain and key PEM files.
        package var tls: (certificate: String, key: String)?
        package var tokenLifetime: Duration = .seconds(24 * 3600)
        package init() {}
    }

    let machine: Machine
    /// The signing secret for bearer tokens (kept so tokens survive a restart of the host).
    let tokenSecretFile: String
    let options: Options
    /// Asks the sync engine to sync now; false when this host does not sync.
    let syncNow: @Sendable () -> Bool
    let logger: Logger

    package init(
        machine: Machine, tokenSecretFile: String, options: Options, logger: Logger = Logger(label: "ferry.machine-api"),
        syncNow: @escaping @Sendable () -> Bool
    ) {
        self.machine = machine
        self.tokenSecretFile = tokenSecretFile
        self.options = options
        self.syncNow = syncNow
        self.logger = logger
    }

    /// Serves until the task is cancelled. `onListening` gets the bound port (useful with port 0).
    package func run(onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let tokens = try TokenSigner(secretFile: tokenSecretFile, lifetime: options.tokenLifetime)
        let security: HTTP2ServerTransport.Posix.TransportSecurity =
            if let tls = options.tls {
                .tls(certificateChain: [.file(path: tls.certificate, format: .pem)], privateKey: .file(path: tls.key, format: .pem))
            } else {
                .plaintext
            }
        let transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: options.host, port: options.port), transportSecurity: security, config: .defaults)
        let keys = ConfigKeyVerifier { [machine] in machine.apiKeys }
        let access = ResourceAccess(machine: machine)
        let services: [any RegistrableRPCService] = [
            AuthServiceImpl(keys: keys, tokens: tokens),
            RobotServiceImpl(machine: machine, startedAt: Date()), DataManagerServiceImpl(machine: machine, syncNow: syncNow),
            SensorServiceImpl(access: access), ArmServiceImpl(access: access), BoardServiceImpl(access: access),
            CameraServiceImpl(access: access), EncoderServiceImpl(access: access), GantryServiceImpl(access: access),
            MotorServiceImpl(access: access), MovementSensorServiceImpl(access: access), ServoServiceImpl(access: access),
        ]
        let protected: Set<ServiceDescriptor> = [
            Viam_Robot_V1_RobotService.descriptor, Viam_Service_Datamanager_V1_DataManagerService.descriptor,
            Viam_Component_Sensor_V1_SensorService.descriptor, Viam_Component_Arm_V1_ArmService.descriptor,
            Viam_Component_Board_V1_BoardService.descriptor, Viam_Component_Camera_V1_CameraService.descriptor,
            Viam_Component_Encoder_V1_EncoderService.descriptor, Viam_Component_Gantry_V1_GantryService.descriptor,
            Viam_Component_Motor_V1_MotorService.descriptor, Viam_Component_Movementsensor_V1_MovementSensorService.descriptor,
            Viam_Component_Servo_V1_ServoService.descriptor,
        ]
        let server = GRPCServer(
            transport: transport,
            services: services,
            interceptorPipeline: [
                .apply(BearerAuthInterceptor(tokens: tokens, revocations: RevocationCheck(keys: keys)), to: .services(protected))
            ])
        try await server.serveUntilShutdown(as: "Viam's machine API", host: options.host, port: options.port) { port in
            logger.info(
                "serving Viam's machine API on \(options.host):\(port) (\(options.tls == nil ? "h2c, no TLS" : "TLS"); \(machine.apiKeys.count) API keys)")
            onListening(port)
        }
    }
}
