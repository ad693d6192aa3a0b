import FerryBSON

/// What `ferry store migrate` copies, in the order it copies them (rows that others refer to first).
public enum TransferKind: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case organizations
    case apiKeys = "api keys"
    case databaseUsers = "database users"
    /// What replicas must agree on besides rows: the token signing key (SQLite keeps it in the data
    /// directory's `token-secret`, PostgreSQL in `store_meta`), hot storage's cutoff, the MongoDB endpoint.
    case settings
    case pipelines
    case datasets
    case savedQueries = "saved queries"
    case readings
    case ingestRanges = "ingest ranges"
    case binaries = "binary data"
    /// Which payloads are in which datasets (after both).
    case datasetMembers = "dataset members"
    case pipelineRuns = "pipeline runs"
    case invalidations = "invalidation log"
    case sinkDocuments = "sink documents"
    /// Custom indexes on readings and sinks, last: each builds its physical index over rows already copied.
    case dataIndexes = "custom indexes"

    public var description: String { rawValue }

    /// Payload bytes per page of binary data at most (a single bigger payload is a page of its own).
    public static let binaryPageBytes = 64 << 20

    /// Rows per export page: small for payloads (each carries its bytes), larger for the rest.
    public var batchSize: Int {
        switch self {
        case .binaries: 16
        case .readings, .sinkDocuments, .invalidations: 1_000
        default: 500
        }
    }
}

/// One row of a pipeline's sink as stored: the BSON document and its `_id` key kept byte for byte.
public struct StoredSinkDocument: Sendable, Hashable {
    public var id: Int64
    public var organizationID: String
    public var pipelineID: String
    public var window: SinkWindow
    public var runID: String
    public var position: Int
    public var document: [UInt8]
    /// `{"": _id}` as BSON, or nil for a document without `_id`.
    public var key: [UInt8]?

    public init(
        id: Int64, organizationID: String, pipelineID: String, window: SinkWindow, runID: String, position: Int,
        document: [UInt8], key: [UInt8]?
    ) {
        self.id = id
        self.organizationID = organizationID
        self.pipelineID = pipelineID
        self.window = window
        self.runID = runID
        self.position = position
        self.document = document
        self.key = key
    }
}

/// A store-wide setting that is not a row of its own kind.
public enum StoreSetting: Sendable, Hashable {
    /// The 32 bytes that sign bearer tokens (and, derived, download URLs).
    case tokenSigningKey([UInt8])
    /// Readings received before this (ms) have left hot storage.
    case hotStorageCutoff(Int64)
    case databaseEndpoint(DatabaseEndpoint)

    public var name: String {
        switch self {
        case .tokenSigningKey: "token signing key"
        case .hotStorageCutoff: "hot storage cutoff"
        case .databaseEndpoint: "MongoDB endpoint"
        }
    }
}

/// One row of any kind, backend-neutral, with the ids it has in its store.
public enum TransferRecord: Sendable, Hashable {
    case organization(Organization)
    case apiKey(APIKeyInfo, secretHash: String)
    case databaseUser(DatabaseUser)
    case setting(StoreSetting)
    case pipeline(PipelineRecord)
    /// `hot`: whether the reading is in hot storage.
    case reading(id: Int64, Reading, hot: Bool)
    /// Every applied record range of one capture file.
    case ingestRanges(organizationID: String, fileID: String, ranges: [Range<Int>])
    case dataset(Dataset)
    case savedQuery(SavedQuery)
    /// The record (its `path` is nil here; its dataset ids are copied as `datasetMember`s) and the payload.
    case binary(BinaryRecord, bytes: [UInt8])
    case datasetMember(datasetID: String, binaryID: String)
    case run(PipelineRunRecord)
    case invalidation(PipelineInvalidation)
    case sinkDocument(StoredSinkDocument)
    case dataIndex(DataIndex)

    public var kind: TransferKind {
        switch self {
        case .organization: .organizations
        case .apiKey: .apiKeys
        case .databaseUser: .databaseUsers
        case .setting: .settings
        case .pipeline: .pipelines
        case .reading: .readings
        case .ingestRanges: .ingestRanges
        case .binary: .binaries
        case .dataset: .datasets
        case .savedQuery: .savedQueries
        case .datasetMember: .datasetMembers
        case .run: .pipelineRuns
        case .invalidation: .invalidations
        case .sinkDocument: .sinkDocuments
        case .dataIndex: .dataIndexes
        }
    }

    /// What identifies the row within its kind: its id (or the file's organisation and id, or the setting's name).
    public var key: String {
        switch self {
        case .organization(let o): o.id
        case .apiKey(let k, _): k.id
        case .databaseUser(let u): u.organizationID
        case .setting(let s): s.name
        case .pipeline(let p): p.id
        case .reading(let id, _, _): String(id)
        case .ingestRanges(let org, let file, _): "\(org)/\(file)"
        case .binary(let b, _): b.id
        case .dataset(let d): d.id
        case .savedQuery(let q): q.id
        case .datasetMember(let dataset, let binary): "\(dataset)/\(binary)"
        case .run(let r): r.id
        case .invalidation(let i): String(i.id)
        case .sinkDocument(let d): String(d.id)
        case .dataIndex(let i): "\(i.organizationID)/\(i.pipelineID)/\(i.name)"
        }
    }
}

/// A page of one kind's rows, and where the next page starts (nil after the last).
public struct TransferPage: Sendable {
    public var records: [TransferRecord]
    /// Opaque to callers: each backend writes and reads its own.
    public var next: String?

    public init(records: [TransferRecord], next: String?) {
        self.records = records
        self.next = next
    }
}

/// Copying a whole store to another, ids and all (`ferry store migrate`). Each backend reads its
/// rows page by page and writes rows it is given; `StoreMigration` decides, row by row, what is
/// new, what is already there, and what conflicts.
public protocol StoreTransfer: Sendable {
    /// Refuses a store whose schema is newer than this program knows (it may hold what would not be copied).
    func checkSchemaIsKnown() async throws
    /// Up to `limit` rows of `kind` after `cursor` (nil: from the start), in a stable order.
    func exportRecords(_ kind: TransferKind, after cursor: String?, limit: Int) async throws -> TransferPage
    /// The rows this store already has under the keys of `records` (all of one kind), by key.
    func existingRecords(_ records: [TransferRecord]) async throws -> [String: TransferRecord]
    /// Writes `records` (all of one kind, none present, except that ingest ranges and settings
    /// replace theirs) in one transaction, keeping their ids.
    func importRecords(_ records: [TransferRecord]) async throws
    /// Called before the first and after the last import: what a backend needs around a bulk copy
    /// (PostgreSQL: an index for looking readings up by id; sequences moved past the copied ids).
    func beginImport() async throws
    func finishImport() async throws
}

extension TransferRecord {
    /// Whether two rows with the same key hold the same data (documents compared as their bytes,
    /// so that a NaN equals itself).
    public func sameContent(as other: TransferRecord) -> Bool {
        switch (self, other) {
        case (.reading(let a, let r, _), .reading(let b, let s, _)):
            var (r2, s2) = (r, s)
            (r2.data, r2.additionalParameters, s2.data, s2.additionalParameters) = ([:], [:], [:], [:])
            return a == b && r2 == s2 && r.data.encode() == s.data.encode()
                && r.additionalParameters.encode() == s.additionalParameters.encode()
        case (.pipeline(let p), .pipeline(let q)):
            var (p2, q2) = (p, q)
            (p2.stages, q2.stages) = ([], [])
            return p2 == q2 && p.stages.map { $0.encode() } == q.stages.map { $0.encode() }
        case (.savedQuery(let a), .savedQuery(let b)):
            var (a2, b2) = (a, b)
            (a2.stages, b2.stages) = ([], [])
            return a2 == b2 && a.stages.map { $0.encode() } == b.stages.map { $0.encode() }
        case (.binary(let a, let x), .binary(let b, let y)):
            var (a2, b2) = (a, b)
            (a2.path, b2.path, a2.isNew, b2.isNew, a2.metadata.annotations, b2.metadata.annotations) = (nil, nil, false, false, nil, nil)
            // Memberships are rows of their own kind.
            (a2.metadata.datasetIDs, b2.metadata.datasetIDs) = ([], [])
            return a2 == b2 && a.metadata.annotations?.encode() == b.metadata.annotations?.encode() && (x.isEmpty || y.isEmpty || x == y)
        default:
            return self == other
        }
    }
}

extension StoreError {
    /// A destination row with the same id as a source row but other content.
    package static func transferConflict(_ kind: TransferKind, key: String, advice: String? = nil) -> StoreError {
        StoreError(
            .invalidArgument,
            "the destination already has \(kind) \(key) with different content than the source: it holds data that did not come from this source, or that changed after an earlier migrate. "
                + (advice ?? "Migrate into an empty store, or remove that row from the destination, and run the migration again"))
    }
}
