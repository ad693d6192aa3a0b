import FerryStore
import Foundation
import GRPCCore
import ViamProtos

/// CreateBinaryDataSignedURL: an HTTPS URL on the download listener that fetches one payload,
/// with no other credential, until it expires. Viewers and above; another organisation's id is NOT_FOUND.
extension DataServiceImpl {
    /// When the request leaves `expiration_minutes` unset (or 0).
    static let defaultSignedURLMinutes: UInt32 = 15
    /// At most a week: a URL is a bearer credential for its payload.
    static let maxSignedURLMinutes: UInt32 = 7 * 24 * 60

    func registerSignedURLMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        unary(&router, Service.Method.CreateBinaryDataSignedURL.descriptor, createBinaryDataSignedURL)
    }

    func createBinaryDataSignedURL(_ request: Viam_App_Data_V1_CreateBinaryDataSignedURLRequest) async throws
        -> Viam_App_Data_V1_CreateBinaryDataSignedURLResponse
    {
        let caller = try Caller.require(.viewer, to: "creating a download URL")
        guard let downloads, let base = downloads.endpoint.baseURL else {
            throw RPCError(
                code: .failedPrecondition,
                message: "this server does not serve downloads; start ferry serve with --download-listen HOST:PORT (and --download-url behind a proxy)")
        }
        let id = try Self.binaryID(request.binaryDataID, nil)
        let minutes = request.expirationMinutes == 0 ? Self.defaultSignedURLMinutes : request.expirationMinutes
        guard minutes <= Self.maxSignedURLMinutes else {
            throw RPCError(
                code: .invalidArgument,
                message: "expiration_minutes is \(minutes); a signed URL lasts at most \(Self.maxSignedURLMinutes) minutes (7 days)")
        }
        let found = try await storeCall { try await store.binaries(organizationID: caller.organizationID, ids: [id]) }
        guard !found.isEmpty else { throw Self.unknown(id, caller) }
        // Whole seconds: the URL carries its expiry in seconds.
        let expires = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + Double(minutes) * 60).rounded(.down))
        let grant = DownloadURLSigner.Grant(organizationID: caller.organizationID, binaryID: id, expires: expires)
        var response = Viam_App_Data_V1_CreateBinaryDataSignedURLResponse()
        response.signedURL = base + downloads.signer.pathAndQuery(for: grant)
        response.expiresAt = DataPipelinesServiceImpl.timestamp(Int64(expires.timeIntervalSince1970) * 1000)
        return response
    }
}
