import FerryMongoWire
import FerryStore

/// Configuring an organisation's database user and describing how to reach it: what the gRPC
/// DataService and `ferry data database …` share.
public enum DatabaseUsers {
    /// A password that breaks Viam's rules (or Ferry's ASCII rule), with every rule it breaks.
    public struct PasswordRejected: Error, CustomStringConvertible, Sendable {
        public var problems: [String]
        public var description: String { "the database password is not acceptable: \(problems.joined(separator: "; "))" }
    }

    /// The stored verifier for `password`, after checking the rules.
    public static func credential(password: String) throws -> DatabaseUserCredential {
        let problems = DatabaseUserPolicy.problems(password)
        guard problems.isEmpty else { throw PasswordRejected(problems: problems) }
        let verifier = try SCRAMSHA256.verifier(password: password)
        return DatabaseUserCredential(
            salt: verifier.salt, iterations: verifier.iterations, storedKey: verifier.storedKey, serverKey: verifier.serverKey)
    }

    public static func userName(organizationID: String) -> String { DatabaseUserPolicy.userName(organizationID: organizationID) }

    /// The connection string without the password, as GetDatabaseConnection's `mongodb_uri`.
    public static func uri(organizationID: String, endpoint: DatabaseEndpoint) -> String {
        "mongodb://\(userName(organizationID: organizationID))@\(endpoint.address)/?\(endpoint.tls ? "tls=true&" : "")authSource=admin"
    }
}
