/// An organisation: the unit of data ownership. Every reading, file, key and pipeline sink belongs
/// to exactly one.
public struct Organization: Sendable, Hashable {
    /// A UUID string.
    public var id: String
    public var name: String
    /// Milliseconds since the Unix epoch, UTC.
    public var createdAt: Int64

    public init(id: String, name: String, createdAt: Int64) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
    }
}

/// What an API key may do. Only owners create, change or delete pipelines; operators upload;
/// viewers query. Each role includes the ones below it.
public enum APIKeyRole: String, Sendable, Hashable, CaseIterable {
    case owner, `operator`, viewer

    /// True if this role may do what `required` allows.
    public func includes(_ required: APIKeyRole) -> Bool { rank >= required.rank }

    private var rank: Int {
        switch self {
        case .owner: 3
        case .operator: 2
        case .viewer: 1
        }
    }
}

/// The machine a key belongs to, as Viam's machine-part keys do: readings uploaded with the key
/// carry its location and machine (`location_id`, `robot_id`), which an upload's metadata cannot
/// name. Empty for an organisation-wide key.
public struct MachineScope: Sendable, Hashable {
    public var locationID: String
    public var robotID: String

    public init(locationID: String = "", robotID: String = "") {
        self.locationID = locationID
        self.robotID = robotID
    }

    public static let none = MachineScope()
}

/// A key as listed: never the secret, never its hash.
public struct APIKeyInfo: Sendable, Hashable {
    /// A UUID string (the Viam SDK requires key ids to be UUIDs).
    public var id: String
    public var organizationID: String
    public var role: APIKeyRole
    public var name: String
    public var scope: MachineScope
    public var createdAt: Int64
    /// When it was revoked, or nil while it is valid.
    public var revokedAt: Int64?

    public init(
        id: String, organizationID: String, role: APIKeyRole, name: String, scope: MachineScope = .none, createdAt: Int64,
        revokedAt: Int64?
    ) {
        self.id = id
        self.organizationID = organizationID
        self.role = role
        self.name = name
        self.scope = scope
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}

/// A freshly created key: the only time its secret is visible. The store keeps a salted hash.
public struct NewAPIKey: Sendable, Hashable {
    public var info: APIKeyInfo
    public var secret: String

    public init(info: APIKeyInfo, secret: String) {
        self.info = info
        self.secret = secret
    }
}

/// Who a verified key speaks for.
public struct APIKeyIdentity: Sendable, Hashable {
    public var keyID: String
    public var organizationID: String
    public var role: APIKeyRole
    public var scope: MachineScope

    public init(keyID: String, organizationID: String, role: APIKeyRole, scope: MachineScope = .none) {
        self.keyID = keyID
        self.organizationID = organizationID
        self.role = role
        self.scope = scope
    }
}
