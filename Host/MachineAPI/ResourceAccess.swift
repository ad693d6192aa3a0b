import FerryAPI
import FerryBSON
import FerryCapture
import FerryCaptureFile
import FerryLoader
import FerryMachine
import FerryStore
import Foundation
import GRPCCore
import SwiftProtobuf
import ViamMachineProtos

/// How the machine API reaches the machine's resources: look one up by API and name, run one of
/// its capture methods or DoCommand off Swift's cooperative threads (a plugin call may block on a
/// device), and turn plugin errors into gRPC statuses.
struct ResourceAccess: Sendable {
    let machine: Machine

    func instance(_ api: String, _ name: String) throws -> any ComponentInstance {
        if let instance = machine.instance(api: api, name: name) { return instance }
        let resources = machine.resources
        if let state = resources.first(where: { $0.api == api && $0.name == name }) {
            throw RPCError(code: .unavailable, message: "\(api)/\(name) is not running: \(state.error ?? "it is starting")")
        }
        let same = resources.filter { $0.api == api }.map(\.name).sorted()
        throw RPCError(
            code: .notFound,
            message: "this machine has no \(api) named \"\(name)\"" + (same.isEmpty ? "" : "; it has \(same.joined(separator: ", "))"))
    }

    /// Runs a capture method on behalf of a caller with at least the viewer role.
    func capture(_ api: String, _ name: String, _ method: String, _ parameters: BSONDocument = [:]) async throws -> CapturedValue {
        _ = try Caller.require(.viewer, to: "reading \(api)/\(name)")
        let instance = try instance(api, name)
        return try await Self.call("\(name).\(method)") { () throws(PluginCallError) in
            try instance.capture(method: method, parameters: parameters)
        }
    }

    /// A tabular capture method's reading.
    func reading(_ api: String, _ name: String, _ method: String, _ parameters: BSONDocument = [:]) async throws -> BSONDocument {
        guard case .tabular(let document) = try await capture(api, name, method, parameters) else {
            throw RPCError(code: .internalError, message: "\(name).\(method) returned binary data where a reading was expected")
        }
        return document
    }

    /// Binary payloads of a capture method.
    func payloads(_ api: String, _ name: String, _ method: String, _ parameters: BSONDocument = [:]) async throws -> [CapturedBinary] {
        guard case .binary(let payloads) = try await capture(api, name, method, parameters), !payloads.isEmpty else {
            throw RPCError(code: .internalError, message: "\(name).\(method) returned no binary payload")
        }
        return payloads
    }

    /// DoCommand: it may act on the device, so it needs the operator role.
    func doCommand(_ api: String, _ request: Viam_Common_V1_DoCommandRequest) async throws -> Viam_Common_V1_DoCommandResponse {
        _ = try Caller.require(.operator, to: "DoCommand on \(api)/\(request.name)")
        let instance = try instance(api, request.name)
        let command = StructConversion.document(from: request.command)
        let result = try await Self.call("\(request.name).DoCommand") { () throws(PluginCallError) in try instance.doCommand(command) }
        var response = Viam_Common_V1_DoCommandResponse()
        response.result = StructConversion.struct(from: result)
        return response
    }

    static func call<T: Sendable>(_ what: String, _ body: @escaping @Sendable () throws(PluginCallError) -> T) async throws -> T {
        do {
            return try await Offload.run { () throws -> T in try body() }
        } catch let error as PluginCallError {
            throw RPCError(error, what)
        }
    }
}

extension RPCError {
    /// A plugin's status as the gRPC code a Viam client expects for it.
    init(_ error: PluginCallError, _ what: String) {
        let code: RPCError.Code =
            switch error.status {
            case .unsupported: .unimplemented
            case .invalidArgument: .invalidArgument
            case .retryLater: .unavailable
            case .fatal: .internalError
            }
        self.init(code: code, message: "\(what): \(error.message)")
    }
}
