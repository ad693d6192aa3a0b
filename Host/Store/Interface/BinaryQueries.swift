import FerryBSON

/// Which binary payloads a browse, tag or delete applies to: Viam's `viam.app.data.v1.Filter` for
/// binary data, within one organisation (every method of `BinaryQueries` takes the caller's
/// organisation; an organisation restriction in `columns` that excludes it matches nothing).
public struct BinaryFilter: Sendable, Hashable {
    /// Conditions on the metadata columns (location, robot, part, component, method) and on the
    /// capture time (`timeRequested`: Viam's capture interval). `timeReceived` bounds apply too.
    public var columns = ReadingFilter()
    /// The MIME types a payload may have; nil for any.
    public var mimeTypes: Set<String>?
    public var tags = TagCondition.any
    /// Labels of which a payload must have at least one bounding box (in its annotations); nil for any.
    public var boundingBoxLabels: Set<String>?
    /// The dataset a payload must be in; nil for any.
    public var datasetID: String?

    public init() {}

    public static var all: BinaryFilter { BinaryFilter() }

    /// Viam's `TagsFilter`: no condition, at least one of some tags, any tag at all, or none.
    public enum TagCondition: Sendable, Hashable {
        case any
        case matchAny(Set<String>)
        case tagged
        case untagged
    }

    /// True when no payload can match, so a query need not run.
    public var matchesNothing: Bool {
        if columns.matchesNothing || mimeTypes?.isEmpty == true || boundingBoxLabels?.isEmpty == true { return true }
        if case .matchAny(let tags) = tags, tags.isEmpty { return true }
        return false
    }

    /// Whether the filter lets the organisation's payloads through at all.
    public func admits(organizationID: String) -> Bool {
        !matchesNothing && (columns.allowed[.organizationID]?.contains(organizationID) ?? true)
    }

    /// Evaluates the filter on one record in memory (what the backends' SQL computes), for checks.
    public func matches(_ record: BinaryRecord) -> Bool {
        let m = record.metadata
        guard admits(organizationID: m.organizationID) else { return false }
        let values: [ReadingFilter.Column: String] = [
            .organizationID: m.organizationID, .locationID: m.locationID, .robotID: m.robotID, .partID: m.partID,
            .componentType: m.componentType, .componentName: m.componentName, .methodName: m.methodName,
        ]
        for (column, allowed) in columns.allowed where !allowed.contains(values[column] ?? "") { return false }
        guard columns.timeRequested.contains(m.timeRequested), columns.timeReceived.contains(m.timeReceived) else { return false }
        if let anyTag = columns.anyTag, !m.tags.contains(where: anyTag.contains) { return false }
        if let mimeTypes, !mimeTypes.contains(m.mimeType) { return false }
        if let labels = boundingBoxLabels, !m.boundingBoxLabels.contains(where: labels.contains) { return false }
        if let datasetID, !m.datasetIDs.contains(datasetID) { return false }
        switch tags {
        case .any: return true
        case .matchAny(let wanted): return m.tags.contains { wanted.contains($0) }
        case .tagged: return !m.tags.isEmpty
        case .untagged: return m.tags.isEmpty
        }
    }
}

extension BinaryMetadata {
    /// The labels of the bounding boxes in the annotations, in order (with repeats).
    public var boundingBoxLabels: [String] {
        (annotations?["bboxes"]?.arrayValue ?? []).compactMap { $0.documentValue?["label"]?.stringValue }
    }
}

/// Where a page of binary data ended: the `(time_requested, id)` of its last record, in the
/// page's order. The next page starts strictly after it, so paging is stable while uploads arrive.
public struct BinaryCursor: Sendable, Hashable {
    public var timeRequested: Int64
    public var id: String

    public init(timeRequested: Int64, id: String) {
        self.timeRequested = timeRequested
        self.id = id
    }

    /// An opaque page token for a client (Viam's `last`): `"<time_requested>/<id>"`.
    public var token: String { "\(timeRequested)/\(id)" }

    public init?(token: String) {
        guard let slash = token.firstIndex(of: "/"), let time = Int64(token[..<slash]) else { return nil }
        let id = String(token[token.index(after: slash)...])
        guard !id.isEmpty, !id.utf8.contains(0) else { return nil }
        self.init(timeRequested: time, id: id)
    }
}

public struct BinaryPage: Sendable, Hashable {
    /// Metadata only: read a payload's bytes with `binaryData(organizationID:id:)`.
    public var records: [BinaryRecord]
    /// Where to continue, or nil when this was the last page.
    public var next: BinaryCursor?

    public init(records: [BinaryRecord], next: BinaryCursor?) {
        self.records = records
        self.next = next
    }
}

/// Browsing, tagging and deleting binary payloads by filter or by id, always within one
/// organisation: an id of another organisation is treated as unknown.
public protocol BinaryQueries: Sendable {
    /// Up to `limit` records matching `filter`, ordered by `(time_requested, id)`, after `cursor`.
    func binaryPage(organizationID: String, filter: BinaryFilter, descending: Bool, after cursor: BinaryCursor?, limit: Int)
        async throws -> BinaryPage
    /// How many payloads match, and their total size in bytes.
    func binaryCount(organizationID: String, filter: BinaryFilter) async throws -> (count: Int, totalBytes: Int64)
    /// The records of those of `ids` the organisation has, in the order of `ids` (each once).
    func binaries(organizationID: String, ids: [String]) async throws -> [BinaryRecord]
    /// Adds each of `tags` a payload lacks (keeping its tags in order); returns how many payloads changed.
    func addBinaryTags(_ tags: [String], organizationID: String, ids: [String]) async throws -> Int
    func addBinaryTags(_ tags: [String], organizationID: String, filter: BinaryFilter) async throws -> Int
    /// Removes `tags` wherever present; returns how many payloads changed.
    func removeBinaryTags(_ tags: [String], organizationID: String, ids: [String]) async throws -> Int
    func removeBinaryTags(_ tags: [String], organizationID: String, filter: BinaryFilter) async throws -> Int
    /// The distinct tags of the matching payloads, sorted.
    func binaryTags(organizationID: String, filter: BinaryFilter) async throws -> [String]
    /// The distinct labels of the bounding boxes of the matching payloads, sorted.
    func boundingBoxLabels(organizationID: String, filter: BinaryFilter) async throws -> [String]
    /// Deletes the payloads (metadata and bytes); returns how many were deleted.
    func deleteBinaries(organizationID: String, ids: [String]) async throws -> Int
    func deleteBinaries(organizationID: String, filter: BinaryFilter) async throws -> Int
}

/// Deleting readings wholesale (Viam's DeleteTabularData).
public protocol ReadingDeletion: Sendable {
    /// Deletes the organisation's readings captured (`time_requested`) before `capturedBefore`
    /// (ms since the Unix epoch); nil deletes them all. Returns how many were deleted.
    func deleteReadings(organizationID: String, capturedBefore: Int64?) async throws -> Int
}

extension StoreChecks {
    /// Tags must be non-empty text every backend can store.
    package static func validate(tags: [String]) throws {
        guard !tags.isEmpty else { throw StoreError.invalid("give at least one tag") }
        for tag in tags {
            guard !tag.isEmpty else { throw StoreError.invalid("a tag must not be empty") }
            try validate(text: tag, what: "the tag \(tag.debugDescription)")
        }
    }

    /// At most this many ids in one call (a statement's parameters stay within every backend's limits).
    package static let maxIDsPerCall = 10_000

    package static func validate(ids: [String]) throws {
        guard ids.count <= maxIDsPerCall else {
            throw StoreError.invalid("at most \(maxIDsPerCall) binary data ids per call (got \(ids.count)); split the call")
        }
        for id in ids { try validate(text: id, what: "the binary data id \(id.debugDescription)") }
    }

    /// A filter's values as both backends store them.
    package static func validate(filter: BinaryFilter) throws {
        for values in filter.columns.allowed.values { for v in values { try validate(text: v, what: "a filter value") } }
        for v in filter.mimeTypes ?? [] { try validate(text: v, what: "a MIME type of the filter") }
        if case .matchAny(let tags) = filter.tags { for v in tags { try validate(text: v, what: "a tag of the filter") } }
        for v in filter.columns.anyTag ?? [] { try validate(text: v, what: "a tag of the filter") }
        for v in filter.boundingBoxLabels ?? [] { try validate(text: v, what: "a bounding box label of the filter") }
        if let id = filter.datasetID { try validate(text: id, what: "the dataset id of the filter") }
    }
}

/// How tag edits change a payload's tags, alike on every backend.
package enum BinaryTags {
    /// `existing`, then each of `tags` it lacks, in order, once.
    package static func adding(_ tags: [String], to existing: [String]) -> [String] {
        var result = existing
        for tag in tags where !result.contains(tag) { result.append(tag) }
        return result
    }

    package static func removing(_ tags: [String], from existing: [String]) -> [String] {
        let removed = Set(tags)
        return existing.filter { !removed.contains($0) }
    }
}

package enum BinaryIDs {
    /// The records of `ids` that were found, in the order of `ids`, each once.
    package static func inRequestOrder(_ found: [BinaryRecord], ids: [String]) -> [BinaryRecord] {
        let byID = Dictionary(found.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var seen = Set<String>()
        return ids.compactMap { id in seen.insert(id).inserted ? byID[id] : nil }
    }
}
