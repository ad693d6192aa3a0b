import FerryBSON

/// A custom index on values inside readings' `data` (Viam's CreateIndex on the hot store), in
/// MongoDB's form: `{"key": {"data.readings.temperature": 1}, "name": "temperature"}`.
///
/// Indexes belong to an organisation, but a backend keeps one physical expression index per set of
/// paths, shared by every organisation that asked for it (`organization_id` leads it, so each
/// organisation's queries seek inside their own rows); it is dropped with the last organisation's
/// record. `MatchPushdown` turns a leading `$match` on an indexed path into `DataHint`s, which the
/// store answers through the index.
public struct DataIndex: Sendable, Hashable {
    public var organizationID: String
    /// The pipeline whose sink is indexed; empty for the hot store (readings). Keys of a sink's
    /// index are paths of its result documents; of the hot store's, paths inside `data`.
    public var pipelineID: String
    /// Unique among the organisation's indexes.
    public var name: String
    public var keys: [DataIndexKey]
    /// Milliseconds since the Unix epoch, UTC.
    public var createdAt: Int64

    public init(organizationID: String, pipelineID: String = "", name: String, keys: [DataIndexKey], createdAt: Int64) {
        self.organizationID = organizationID
        self.pipelineID = pipelineID
        self.name = name
        self.keys = keys
        self.createdAt = createdAt
    }

    /// The MongoDB index document it was created from (normalised): `{key: {...}, name: ...}`.
    public var spec: BSONDocument {
        var key = BSONDocument()
        for k in keys { key.elements.append(BSONElement(k.field, .int32(Int32(k.direction)))) }
        return ["key": .document(key), "name": .string(name)]
    }

    /// The indexed paths in key order, what the physical index is built on: below `data` on the
    /// hot store, whole document paths on a sink.
    public var paths: [[String]] { pipelineID.isEmpty ? keys.map(\.path) : keys.map(\.documentPath) }
}

/// One key of a custom index: a dotted field path of the reading document, inside `data`.
public struct DataIndexKey: Sendable, Hashable {
    /// As given, e.g. `data.readings.temperature`.
    public var field: String
    /// 1 or -1; a b-tree serves both orders, so it is kept for listing only.
    public var direction: Int

    public init(field: String, direction: Int) {
        self.field = field
        self.direction = direction
    }

    /// The path below the stored `data` document: `["readings", "temperature"]`.
    public var path: [String] { Array(documentPath.dropFirst()) }

    /// Every field name of the path: `["data", "readings", "temperature"]`.
    public var documentPath: [String] { field.split(separator: ".", omittingEmptySubsequences: false).map(String.init) }
}

/// Custom indexes on readings, per organisation.
public protocol DataIndexStore: Sendable {
    /// Records the index and builds its physical index if no organisation has one on the same
    /// paths. `.alreadyExists` when the organisation has an index of that name or on the same keys,
    /// `.notFound` when the organisation does not exist.
    func createIndex(_ index: DataIndex) async throws
    /// The organisation's indexes on the hot store (`pipelineID` empty) or on that pipeline's
    /// sink, oldest first.
    func indexes(organizationID: String, pipelineID: String) async throws -> [DataIndex]
    /// Deletes the organisation's index of that name on the hot store or the pipeline's sink (and
    /// the physical index when no organisation uses it any more); false when there is none.
    func deleteIndex(organizationID: String, pipelineID: String, name: String) async throws -> Bool
    /// The pipeline's results in window order that may meet `hints` (conditions on document
    /// paths, see `MatchPushdown.documentHints`): read through a custom index on the sink when one
    /// serves them, else every document. Never fewer than those matching the `$match` they came from.
    func sinkDocuments(organizationID: String, pipelineID: String, hints: [DataHint]) async throws -> [BSONDocument]
    /// Every organisation's indexes, by organisation, pipeline and name (`ferry store migrate`
    /// copies them; there are few, so in one page).
    func allIndexes() async throws -> [DataIndex]
}

extension DataIndexStore {
    /// The organisation's indexes on the hot store.
    public func indexes(organizationID: String) async throws -> [DataIndex] {
        try await indexes(organizationID: organizationID, pipelineID: "")
    }

    /// Deletes the organisation's index of that name on the hot store.
    public func deleteIndex(organizationID: String, name: String) async throws -> Bool {
        try await deleteIndex(organizationID: organizationID, pipelineID: "", name: name)
    }
}

/// `StoreTransfer` of custom indexes, the same on every backend: listed whole, and imported by
/// creating each as a user would, which builds its physical index over the rows copied before.
extension DataIndexStore {
    package func exportIndexes() async throws -> TransferPage {
        TransferPage(records: try await allIndexes().map { .dataIndex($0) }, next: nil)
    }

    package func existingIndexes(_ records: [TransferRecord]) async throws -> [String: TransferRecord] {
        let wanted = Set(records.map(\.key))
        var found: [String: TransferRecord] = [:]
        for index in try await allIndexes() {
            let record = TransferRecord.dataIndex(index)
            if wanted.contains(record.key) { found[record.key] = record }
        }
        return found
    }

    /// One index at a time: each build is a transaction of its own.
    package func importIndexes(_ records: [TransferRecord]) async throws {
        for case .dataIndex(let index) in records { try await createIndex(index) }
    }
}

/// A condition MatchPushdown found on a value inside `data` that every matching reading meets. It
/// does not decide a match (the `$match` stays in the residual for the MQL engine), so a store may
/// use it to read fewer rows through a custom index, or ignore it.
public struct DataHint: Sendable, Hashable {
    /// Below `data`: `["readings", "temperature"]`.
    public var path: [String]
    public var test: Test

    public enum Test: Sendable, Hashable {
        /// The value is a number or string equal to one of these.
        case oneOf([DataIndexValue])
        /// The value is a number `op` this one.
        case compare(Comparison, DataIndexValue)
    }

    public enum Comparison: String, Sendable, Hashable {
        case greaterThan = ">", atLeast = ">=", lessThan = "<", atMost = "<="
    }

    public init(path: [String], test: Test) {
        self.path = path
        self.test = test
    }
}

/// A number or string an index keys on (other BSON types are never pushed down).
public enum DataIndexValue: Sendable, Hashable {
    case int(Int64)
    case double(Double)
    case string(String)

    /// A finite number or a string, as an index key value; nil for anything else.
    public init?(_ value: BSON) {
        switch value {
        case .int32(let n): self = .int(Int64(n))
        case .int64(let n): self = .int(n)
        case .double(let d) where d.isFinite: self = .double(d)
        case .string(let s): self = .string(s)
        default: return nil
        }
    }

    public var isNumber: Bool {
        if case .string = self { return false }
        return true
    }
}

extension StoreChecks {
    /// At most this many keys in one index.
    package static let maxIndexKeys = 8
    package static let maxIndexNameLength = 128

    /// Reads a MongoDB index document (`{key: {path: 1 | -1, ...}, name?: ...}`) into an index of
    /// the organisation, refusing what Ferry cannot build with the reason and what to give instead.
    /// Without a name, MongoDB's default (`path_1_other_-1`) is used.
    /// On a sink (`pipelineID` not empty) keys are any paths of its documents.
    package static func dataIndex(spec: BSONDocument, organizationID: String, pipelineID: String = "", createdAt: Int64) throws -> DataIndex {
        for key in spec.keys where key != "key" && key != "name" {
            throw StoreError.invalid(
                "index option \(key.debugDescription) is not supported; give {\"key\": {\"data.readings.<field>\": 1}, \"name\": \"<name>\"}")
        }
        guard case .document(let keyDocument)? = spec["key"] else {
            throw StoreError.invalid(
                "the index spec needs \"key\": a document of field paths, such as {\"key\": {\"data.readings.temperature\": 1}}")
        }
        guard !keyDocument.isEmpty else { throw StoreError.invalid("the index spec's \"key\" is empty; name at least one field path") }
        guard keyDocument.count <= maxIndexKeys else {
            throw StoreError.invalid("the index spec has \(keyDocument.count) keys; at most \(maxIndexKeys) are allowed")
        }
        var keys: [DataIndexKey] = []
        for element in keyDocument.elements {
            try validate(indexField: element.key, sink: !pipelineID.isEmpty)
            guard !keys.contains(where: { $0.field == element.key }) else {
                throw StoreError.invalid("the index key \(element.key.debugDescription) appears twice")
            }
            let direction: Int
            switch element.value {
            case .int32(let n) where n == 1 || n == -1: direction = Int(n)
            case .int64(let n) where n == 1 || n == -1: direction = Int(n)
            case .double(let d) where d == 1 || d == -1: direction = Int(d)
            default:
                throw StoreError.invalid(
                    "the index key \(element.key.debugDescription) has \(element.value.extendedJSON()); only ascending (1) and descending (-1) indexes are supported")
            }
            keys.append(DataIndexKey(field: element.key, direction: direction))
        }
        let name: String
        switch spec["name"] {
        case nil: name = keys.map { "\($0.field)_\($0.direction)" }.joined(separator: "_")
        case .string(let given)?: name = given
        case let other?: throw StoreError.invalid("the index name must be a string, not \(other.extendedJSON())")
        }
        try validate(indexName: name)
        return DataIndex(organizationID: organizationID, pipelineID: pipelineID, name: name, keys: keys, createdAt: createdAt)
    }

    /// A field path inside a reading's data: `data.` then dot-separated field names, none empty or
    /// starting with `$`, no control characters. On a sink, any such path of its documents.
    package static func validate(indexField field: String, sink: Bool = false) throws {
        let segments = field.split(separator: ".", omittingEmptySubsequences: false)
        guard sink || (segments.count >= 2 && segments[0] == "data") else {
            throw StoreError.invalid(
                "the index key \(field.debugDescription) is not inside a reading's data; index a path such as \"data.readings.temperature\" (the columns organization_id, component_name, robot_id and time_received are indexed already)")
        }
        guard field.utf8.count <= 512 else { throw StoreError.invalid("the index key \(field.prefix(40).debugDescription)… is longer than 512 bytes") }
        for segment in sink ? segments[...] : segments.dropFirst() {
            if segment.isEmpty {
                throw StoreError.invalid("the index key \(field.debugDescription) has an empty field name; separate field names with single dots")
            }
            if segment.hasPrefix("$") {
                throw StoreError.invalid("the index key \(field.debugDescription) has the field name \(String(segment).debugDescription); field names cannot start with '$'")
            }
            if segment.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                throw StoreError.invalid("the index key \(field.debugDescription) contains a control character; remove it")
            }
        }
    }

    package static func validate(indexName name: String) throws {
        guard !name.isEmpty, name.count <= maxIndexNameLength else {
            throw StoreError.invalid("an index name has 1 to \(maxIndexNameLength) characters (got \(name.count))")
        }
        guard let bad = name.unicodeScalars.first(where: { !($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0)) })
        else { return }
        throw StoreError.invalid("the index name \(name.debugDescription) contains \(String(bad).debugDescription); use letters, digits, '-', '_' and '.'")
    }

    package static func duplicateIndex(_ index: DataIndex, existing: DataIndex) -> StoreError {
        if existing.name == index.name {
            return StoreError(.alreadyExists, "the organisation already has an index named \(index.name.debugDescription); delete it first or choose another name")
        }
        return StoreError(
            .alreadyExists,
            "the organisation's index \(existing.name.debugDescription) already has the keys \(index.keys.map(\.field).joined(separator: ", ")); use it, or delete it first")
    }

    /// The name of the physical index on `table` for these paths: the same for every organisation
    /// (FNV-1a of the paths, so it fits any identifier limit).
    package static func physicalIndexName(table: String, paths: [[String]]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in paths.map { $0.joined(separator: "\u{1}") }.joined(separator: "\u{2}").utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return "ferry_ix_\(table)_" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The hint a store can answer with one of `indexes`: the first hint on the leading path of an
    /// index, with that index and every hint on the same path.
    package static func indexedHints(_ hints: [DataHint], indexes: [DataIndex]) -> (index: DataIndex, hints: [DataHint])? {
        for hint in hints {
            if let index = indexes.first(where: { $0.paths.first == hint.path }) {
                return (index, hints.filter { $0.path == hint.path })
            }
        }
        return nil
    }
}
