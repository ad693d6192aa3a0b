/// Bounds on one TabularDataBySQL query, so that no query can hog the server.
public struct SQLSandboxLimits: Sendable, Hashable {
    /// SQLite virtual-machine instructions a query may execute (~10⁸ per second here); a runaway
    /// recursive CTE stops here.
    public var maxInstructions: Int64 = 1_000_000_000
    /// Wall time a query may run, checked every few thousand instructions (a monotonic clock).
    public var maxDuration: Duration = .seconds(30)
    /// Rows a query may return; ask for more with LIMIT/OFFSET or aggregate.
    public var maxRows = 100_000
    /// Bytes of text and blob a query may return in all.
    public var maxResultBytes = 256 * 1024 * 1024
    /// Longest query text accepted.
    public var maxSQLLength: Int32 = 100_000
    /// Longest string or blob a query may build (SQLite's SQLITE_LIMIT_LENGTH).
    public var maxValueBytes: Int32 = 16 * 1024 * 1024

    public init() {}
}
