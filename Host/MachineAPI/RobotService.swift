import FerryAPI
import FerryConfig
import FerryMachine
import Foundation
import GRPCCore
import SwiftProtobuf
import ViamMachineGRPC
import ViamMachineProtos

/// `viam.robot.v1.RobotService`: what a Viam SDK's robot client asks while connecting and
/// refreshing (ResourceNames), and GetVersion / GetMachineStatus. Other methods answer UNIMPLEMENTED.
struct RobotServiceImpl: RegistrableRPCService {
    typealias Service = Viam_Robot_V1_RobotService
    let machine: Machine
    let startedAt: Date

    /// The Viam API release Ferry's generated code comes from (viam-sdk 0.85.1's API_VERSION).
    static let apiVersion = "v0.1.601"
    static let ferryVersion = FerryVersion.current

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.unary(Service.Method.ResourceNames.descriptor) { (_: Viam_Robot_V1_ResourceNamesRequest) in
            _ = try Caller.require(.viewer, to: "listing resources")
            var response = Viam_Robot_V1_ResourceNamesResponse()
            response.resources = machine.resources.compactMap { Self.resourceName(api: $0.api, name: $0.name) }
            return response
        }
        router.unary(Service.Method.GetVersion.descriptor) { (_: Viam_Robot_V1_GetVersionRequest) in
            _ = try Caller.require(.viewer, to: "reading the version")
            var response = Viam_Robot_V1_GetVersionResponse()
            response.platform = "ferry"
            response.version = Self.ferryVersion
            response.apiVersion = Self.apiVersion
            return response
        }
        router.unary(Service.Method.GetMachineStatus.descriptor) { (_: Viam_Robot_V1_GetMachineStatusRequest) in
            _ = try Caller.require(.viewer, to: "reading the machine status")
            var response = Viam_Robot_V1_GetMachineStatusResponse()
            response.state = .running
            response.config.lastUpdated = Google_Protobuf_Timestamp(date: machine.configLoadedAt ?? startedAt)
            response.resources = machine.resources.compactMap { state in
                guard let name = Self.resourceName(api: state.api, name: state.name) else { return nil }
                var status = Viam_Robot_V1_ResourceStatus()
                status.name = name
                status.state = state.error == nil ? .ready : .unhealthy
                status.error = state.error ?? ""
                status.lastUpdated = Google_Protobuf_Timestamp(date: machine.configLoadedAt ?? startedAt)
                status.reachability = .reachable
                return status
            }
            return response
        }
    }

    /// `rdk:component:sensor` + `temp` → {namespace rdk, type component, subtype sensor, name temp}.
    static func resourceName(api: String, name: String) -> Viam_Common_V1_ResourceName? {
        let parts = api.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 else { return nil }
        var resource = Viam_Common_V1_ResourceName()
        (resource.namespace, resource.type, resource.subtype, resource.name) = (parts[0], parts[1], parts[2], name)
        return resource
    }
}

/// `viam.service.datamanager.v1.DataManagerService`: Sync asks the host's sync engine to sync now,
/// as `ferry sync now` does.
struct DataManagerServiceImpl: RegistrableRPCService {
    typealias Service = Viam_Service_Datamanager_V1_DataManagerService
    let machine: Machine
    let syncNow: @Sendable () -> Bool

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.unary(Service.Method.Sync.descriptor) { (request: Viam_Service_Datamanager_V1_SyncRequest) in
            _ = try Caller.require(.operator, to: "asking the data manager to sync")
            try checkName(request.name)
            guard syncNow() else {
                throw RPCError(code: .failedPrecondition, message: "this host does not sync (no data manager sync is running)")
            }
            return Viam_Service_Datamanager_V1_SyncResponse()
        }
        router.unary(Service.Method.DoCommand.descriptor) { (request: Viam_Common_V1_DoCommandRequest) -> Viam_Common_V1_DoCommandResponse in
            _ = try Caller.require(.operator, to: "DoCommand on the data manager")
            try checkName(request.name)
            throw RPCError(code: .unimplemented, message: "the data manager has no commands; call Sync")
        }
    }

    func checkName(_ name: String) throws {
        guard let configured = machine.dataManager?.serviceName else {
            throw RPCError(code: .notFound, message: "this machine's config has no data_manager service")
        }
        guard name == configured else {
            throw RPCError(code: .notFound, message: "this machine's data manager is named \"\(configured)\", not \"\(name)\"")
        }
    }
}
