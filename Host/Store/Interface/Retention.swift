import FerryBSON

/// The data one retention policy governs: what one capture method of one component of one machine
/// part uploads, in one organisation.
public struct RetentionResource: Sendable, Hashable, CustomStringConvertible {
    public var organizationID: String
    public var partID: String
    public var componentName: String
    public var methodName: String

    public init(organizationID: String, partID: String, componentName: String, methodName: String) {
        self.organizationID = organizationID
        self.partID = partID
        self.componentName = componentName
        self.methodName = methodName
    }

    public var description: String { "\(componentName) \(methodName) of part \(partID.isEmpty ? "(none)" : partID) in organisation \(organizationID)" }

    /// The resource's readings or payloads (the organisation is given to the query beside it).
    public var filter: ReadingFilter {
        ReadingFilter().restricting(.partID, to: [partID]).restricting(.componentName, to: [componentName])
            .restricting(.methodName, to: [methodName])
    }
}

/// Viam's `retention_policy` of a capture method, as the data server enforces it: data captured
/// more than `days` UTC days ago goes, and past a size limit the oldest goes first. Nil: no limit.
public struct RetentionPolicy: Sendable, Hashable, CustomStringConvertible {
    /// Whole UTC days kept, today included: with 1, what was captured yesterday (UTC) goes at
    /// midnight UTC. From 1 to 1000000.
    public var days: Int?
    /// The most bytes of binary payloads kept (Viam's `binary_limit_gb` × 10⁹).
    public var binaryLimitBytes: Int64?
    /// The most bytes of tabular data kept: the readings' data documents as BSON (Viam's
    /// `tabular_limit_gb` × 10⁹).
    public var tabularLimitBytes: Int64?

    public init(days: Int? = nil, binaryLimitBytes: Int64? = nil, tabularLimitBytes: Int64? = nil) {
        self.days = days
        self.binaryLimitBytes = binaryLimitBytes
        self.tabularLimitBytes = tabularLimitBytes
    }

    public var isEmpty: Bool { days == nil && binaryLimitBytes == nil && tabularLimitBytes == nil }

    static let dayMillis: Int64 = 86_400_000

    /// The first instant kept at `now` (ms since the Unix epoch): midnight UTC starting the oldest
    /// day kept. Data captured (`time_requested`) before it is deleted. Nil without `days`.
    public func cutoff(now: Int64) -> Int64? {
        guard let days else { return nil }
        let today = CivilCalendar.floorDiv(now, Self.dayMillis)
        return (today - Int64(days) + 1) * Self.dayMillis
    }

    public var description: String {
        var parts: [String] = []
        if let days { parts.append("\(days) day\(days == 1 ? "" : "s")") }
        if let binaryLimitBytes { parts.append("binary ≤ \(binaryLimitBytes) bytes") }
        if let tabularLimitBytes { parts.append("tabular ≤ \(tabularLimitBytes) bytes") }
        return parts.isEmpty ? "none" : parts.joined(separator: ", ")
    }
}

/// What one enforcement deleted of one resource.
public struct RetentionDeletion: Sendable, Hashable {
    public var readings = 0
    public var binaries = 0

    public init(readings: Int = 0, binaries: Int = 0) {
        self.readings = readings
        self.binaries = binaries
    }

    public var isEmpty: Bool { readings == 0 && binaries == 0 }
}

/// Retention policies per resource, as the uploads that carry them set them (the latest wins), and
/// their enforcement through the ordinary deletion paths: payload files go with their rows, and
/// pipelines with backfill re-run the windows that lose readings, as for late data.
public protocol RetentionStore: Sendable {
    /// Sets the resource's policy, replacing any earlier one; nil or an empty policy removes it.
    func setRetentionPolicy(_ policy: RetentionPolicy?, for resource: RetentionResource) async throws
    /// Every resource's policy, in every organisation.
    func retentionPolicies() async throws -> [RetentionResource: RetentionPolicy]
    /// Deletes what `policy` does not keep of the resource at `now` (ms since the Unix epoch):
    /// first everything captured before `policy.cutoff(now:)`, then, while a kind is over its
    /// limit, its oldest (by capture time, then id) until it is within the limit.
    func enforceRetention(_ policy: RetentionPolicy, for resource: RetentionResource, now: Int64) async throws -> RetentionDeletion
}

extension StoreChecks {
    package static func validate(resource: RetentionResource, policy: RetentionPolicy?) throws {
        for (value, what) in [
            (resource.organizationID, "organisation id"), (resource.partID, "part id"), (resource.componentName, "component name"),
            (resource.methodName, "method name"),
        ] {
            try validate(text: value, what: "the retention policy's \(what)")
        }
        guard let policy else { return }
        if let days = policy.days, !(1...1_000_000).contains(days) {
            throw StoreError.invalid("a retention policy keeps at least 1 day (and at most 1000000), not \(days)")
        }
        for (limit, what) in [(policy.binaryLimitBytes, "binary"), (policy.tabularLimitBytes, "tabular")] {
            if let limit, limit < 0 { throw StoreError.invalid("a retention policy's \(what) limit must not be negative, got \(limit) bytes") }
        }
    }
}
