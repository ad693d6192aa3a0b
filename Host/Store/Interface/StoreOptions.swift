import Logging

/// What every backend is configured with; each adds its own (SQLite's durability, PostgreSQL's pool).
public struct StoreOptions: Sendable {
    /// How long readings stay in hot storage; nil turns hot storage off.
    public var hotStorageHours: Int? = 24
    /// PBKDF2 rounds for new API keys (existing keys keep the rounds they were hashed with).
    public var apiKeyHashRounds = KeyHashing.defaultRounds
    public var sqlLimits = SQLSandboxLimits()
    public var logger = Logger(label: "ferry.store")

    public init() {}
}
