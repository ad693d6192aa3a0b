/// An organisation's MongoDB database user (`db-user-<organisation id>`, as Viam names it). The
/// store keeps the SCRAM-SHA-256 verifier, never the password.
public struct DatabaseUser: Sendable, Hashable {
    public var organizationID: String
    public var credential: DatabaseUserCredential
    /// Whether the user may `insert` into `sensorData.readings` (what a host's
    /// `mongo_capture_config` needs); otherwise the user only reads.
    public var mayInsert: Bool
    /// Milliseconds since the Unix epoch, UTC.
    public var createdAt: Int64
    public var updatedAt: Int64

    public init(organizationID: String, credential: DatabaseUserCredential, mayInsert: Bool, createdAt: Int64, updatedAt: Int64) {
        self.organizationID = organizationID
        self.credential = credential
        self.mayInsert = mayInsert
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// A SCRAM-SHA-256 verifier (RFC 5802): what a server needs to check a password and prove it
/// knows it, from which the password cannot be recovered.
public struct DatabaseUserCredential: Sendable, Hashable {
    public var salt: [UInt8]
    public var iterations: Int
    public var storedKey: [UInt8]
    public var serverKey: [UInt8]

    public init(salt: [UInt8], iterations: Int, storedKey: [UInt8], serverKey: [UInt8]) {
        self.salt = salt
        self.iterations = iterations
        self.storedKey = storedKey
        self.serverKey = serverKey
    }
}

/// Where database clients dial the MongoDB endpoint, as the last `ferry serve --mongo-listen`
/// recorded it: what GetDatabaseConnection and `ferry data database hostname` answer.
public struct DatabaseEndpoint: Sendable, Hashable {
    /// `HOST:PORT` as a client dials it.
    public var address: String
    public var tls: Bool

    public init(address: String, tls: Bool) {
        self.address = address
        self.tls = tls
    }
}
