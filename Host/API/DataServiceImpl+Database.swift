import FerryMongoServer
import FerryStore
import GRPCCore
import ViamProtos

/// DataService's database-user RPCs: the MongoDB endpoint's credentials per organisation.
extension DataServiceImpl {
    /// ConfigureDatabaseUser: owners only; Viam's password rules, refused naming each rule broken.
    /// Creates `db-user-<organisation>` or changes its password (its insert permission is kept).
    func configureDatabaseUser(_ request: Viam_App_Data_V1_ConfigureDatabaseUserRequest) async throws
        -> Viam_App_Data_V1_ConfigureDatabaseUserResponse
    {
        let caller = try Caller.require(.owner, to: "configuring the database user")
        try Caller.requireOrganization(request.organizationID, caller)
        let credential: DatabaseUserCredential
        do {
            credential = try await Offload.run { try DatabaseUsers.credential(password: request.password) }
        } catch let error as DatabaseUsers.PasswordRejected {
            throw RPCError(code: .invalidArgument, message: error.description)
        }
        _ = try await storeCall { try await store.configureDatabaseUser(organizationID: caller.organizationID, credential: credential) }
        return Viam_App_Data_V1_ConfigureDatabaseUserResponse()
    }

    /// GetDatabaseConnection: where `ferry serve --mongo-listen` listens (HOST:PORT), the
    /// connection string without the password, and whether the user exists.
    func getDatabaseConnection(_ request: Viam_App_Data_V1_GetDatabaseConnectionRequest) async throws
        -> Viam_App_Data_V1_GetDatabaseConnectionResponse
    {
        let caller = try Caller.require(.viewer, to: "reading the database connection")
        try Caller.requireOrganization(request.organizationID, caller)
        guard let endpoint = try await storeCall({ try await store.databaseEndpoint() }) else {
            throw RPCError(
                code: .failedPrecondition,
                message: "no MongoDB endpoint: start `ferry serve --mongo-listen HOST:PORT` on this store to serve one")
        }
        var response = Viam_App_Data_V1_GetDatabaseConnectionResponse()
        response.hostname = endpoint.address
        response.mongodbUri = DatabaseUsers.uri(organizationID: caller.organizationID, endpoint: endpoint)
        response.hasDatabaseUser_p = try await storeCall { try await store.databaseUser(organizationID: caller.organizationID) } != nil
        return response
    }
}
