import FerryBSON
import Foundation

/// What every backend checks and says the same way, so the conformance suite holds them to one
/// behaviour: argument validation, and the messages for the failures users meet.
package enum StoreChecks {
    package static func validate(limit: Int?) throws {
        if let limit, limit < 0 { throw StoreError.invalid("a query limit must not be negative (got \(limit))") }
    }

    package static func validate(pageSize: Int) throws {
        guard (1...1_000_000).contains(pageSize) else {
            throw StoreError.invalid("a page size must be from 1 to 1000000 (got \(pageSize))")
        }
    }

    /// An upload's idempotency key must cover exactly its readings, of one organisation.
    package static func validate(_ key: IdempotencyKey, count: Int, organizations: Set<String>) throws {
        guard !key.fileID.isEmpty else { throw StoreError.invalid("the idempotency key has an empty file id") }
        guard key.firstRecord >= 0, key.lastRecord >= key.firstRecord else {
            throw StoreError.invalid(
                "the idempotency key of file \(key.fileID) has records [\(key.firstRecord), \(key.lastRecord)); the first must be ≥ 0 and not after the last")
        }
        guard key.lastRecord - key.firstRecord == count else {
            throw StoreError.invalid(
                "the idempotency key of file \(key.fileID) covers records [\(key.firstRecord), \(key.lastRecord)) (\(key.lastRecord - key.firstRecord) records) but the upload has \(count) readings; send one reading per record")
        }
        guard organizations.count <= 1 else {
            throw StoreError.invalid("an upload with an idempotency key must hold readings of one organisation (got \(organizations.count))")
        }
    }

    /// Text every backend can store: PostgreSQL's text cannot hold a NUL character.
    package static func validate(text: String, what: @autoclosure () -> String) throws {
        if text.utf8.contains(0) { throw StoreError.invalid("\(what()) contains a NUL character, which cannot be stored; remove it") }
    }

    /// The times every backend can store: years 0001 to 9999, what protobuf timestamps carry.
    package static let timeRange: ClosedRange<Int64> = -62_135_596_800_000...253_402_300_799_999

    /// A reading every backend stores alike: no NUL in its text columns or tags, times in `timeRange`.
    package static func validate(reading r: Reading) throws {
        // Field by field, the message made only on failure: this runs for every reading ingested.
        try validate(text: r.organizationID, what: "the organization_id of a reading")
        try validate(text: r.locationID, what: "the location_id of a reading")
        try validate(text: r.robotID, what: "the robot_id of a reading")
        try validate(text: r.partID, what: "the part_id of a reading")
        try validate(text: r.componentType, what: "the component_type of a reading")
        try validate(text: r.componentName, what: "the component_name of a reading")
        try validate(text: r.methodName, what: "the method_name of a reading")
        for tag in r.tags { try validate(text: tag, what: "a tag of a reading") }
        guard timeRange.contains(r.timeRequested), timeRange.contains(r.timeReceived) else {
            throw StoreError.invalid(
                "a reading of \(r.componentName.debugDescription) has time_requested \(r.timeRequested) ms and time_received \(r.timeReceived) ms; times must lie in the years 0001 to 9999")
        }
    }

    package static func validateSinkWrite(pipelineID: String, window: SinkWindow) throws {
        guard window.start < window.end else {
            throw StoreError.invalid("a pipeline window must end after it starts (got [\(window.start), \(window.end)) ms)")
        }
        guard !pipelineID.isEmpty else { throw StoreError.invalid("a pipeline sink needs a pipeline id") }
    }

    /// Organisation ids name directories (SQLite's payload files) and must be safe in both backends
    /// alike: letters, digits, '-' and '_'.
    package static func validate(binary metadata: BinaryMetadata) throws {
        let name = metadata.organizationID
        let allowed = name.utf8.allSatisfy { c in
            (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "-") || c == UInt8(ascii: "_")
        }
        guard allowed, !name.isEmpty, name.utf8.count <= 128 else {
            throw StoreError.invalid("the organisation id \(name.debugDescription) is not valid: use letters, digits, '-' and '_'")
        }
        if let fileID = metadata.fileID, fileID.isEmpty { throw StoreError.invalid("a binary upload's file id must not be empty") }
        for id in metadata.datasetIDs { try validate(text: id, what: "the dataset id \(id.debugDescription) of a binary upload") }
    }

    package static func validate(hotStorageHours: Int?) throws {
        if let hours = hotStorageHours, !(1...876_000).contains(hours) {
            throw StoreError.invalid(
                "hot storage hours must be from 1 to 876000 (100 years), got \(hours); leave it unset to turn hot storage off")
        }
    }

    /// Readings received before this leave hot storage at a prune at `now`.
    package static func hotStorageCutoff(now: Date, hours: Int) -> Int64 {
        let (difference, overflow) = now.milliseconds.subtractingReportingOverflow(Int64(hours) * 3_600_000)
        return overflow ? Int64.min : difference
    }

    /// Refuses an over-long query text, and a statement that is plainly not a query, with a clear
    /// message; each backend's sandbox is what enforces read-only access.
    package static func screen(sql: String, limits: SQLSandboxLimits) throws {
        guard sql.utf8.count <= Int(limits.maxSQLLength) else {
            throw StoreError.invalid("the SQL query is \(sql.utf8.count) bytes long; the limit is \(limits.maxSQLLength)")
        }
        if let keyword = SQLKeywords.first(in: sql), SQLKeywords.nonQueries.contains(keyword) {
            throw StoreError(.sqlRefused, "TabularDataBySQL is read-only and runs only SELECT queries: \(keyword) is not allowed")
        }
    }

    package static func noSuchOrganization(_ id: String) -> StoreError {
        StoreError(.notFound, "organisation \(id.debugDescription) does not exist; create it with `ferry org create`")
    }

    package static func duplicatePipelineName(_ pipeline: PipelineRecord, existing: String) -> StoreError {
        StoreError(
            .invalidArgument,
            "organisation \(pipeline.organizationID) already has a pipeline named \(pipeline.name.debugDescription) (\(existing)); pipeline names are unique per organisation: choose another name"
        )
    }

    /// A sink document whose `_id` another document of the pipeline already has.
    package static func duplicateSinkID(_ id: BSON, pipelineID: String, clash: SinkWindow, window: SinkWindow) -> StoreError {
        let same = clash == window
        return StoreError.invalid(
            """
            duplicate _id \(id.extendedJSON()) in the results of pipeline \(pipelineID): \
            \(same ? "this run produced it twice" : "the window [\(ISODate.string(clash.start)), \(ISODate.string(clash.end))) already holds a document with it"). \
            As in Viam's MongoDB sink, _id must be unique across all windows; a $group _id (say a location) repeats \
            in every window, so project it to another field and drop _id, e.g. {"$project": {"location": "$_id", "_id": 0, …}}. \
            Nothing was replaced
            """)
    }

    package static func unstorableSinkDocument(pipelineID: String, position: Int, _ error: any Error) -> StoreError {
        StoreError.invalid("pipeline \(pipelineID) result document \(position) cannot be stored as BSON: \(error); nothing was replaced")
    }

    /// Result document `position` as a sink stores it: its BSON, its `_id` and that value's key
    /// (the bytes the sink's uniqueness of `_id` compares); refused if it cannot be BSON.
    package static func sinkDocument(_ document: BSONDocument, position: Int, pipelineID: String) throws(StoreError)
        -> (bytes: [UInt8], id: BSON?, key: [UInt8]?)
    {
        let bytes: [UInt8]
        do {
            bytes = try document.encodeChecked()
        } catch {
            throw unstorableSinkDocument(pipelineID: pipelineID, position: position, error)
        }
        let id = document["_id"]
        return (bytes, id, id.map { BSONDocument([("", $0)]).encode() })
    }

    package static func unstorableReading(_ reading: Reading, _ error: any Error) -> StoreError {
        StoreError.invalid(
            "reading of \(reading.componentName.debugDescription) at \(reading.timeReceived) ms cannot be stored as BSON: \(error)")
    }

    /// The stages as one BSON document `{stages: [...]}`, as both backends store them.
    package static func encodeStages(_ pipeline: PipelineRecord) throws -> [UInt8] {
        do {
            return try BSONDocument([("stages", .array(pipeline.stages.map { .document($0) }))]).encodeChecked()
        } catch {
            throw StoreError.invalid("the stages of pipeline \(pipeline.name) cannot be stored as BSON: \(error)")
        }
    }

    package static func decodeStages(_ document: BSONDocument, pipelineID: String) throws -> [BSONDocument] {
        guard case .array(let items)? = document["stages"] else {
            throw StoreError(.storage, "pipeline \(pipelineID) has corrupt stages in the store")
        }
        return items.compactMap(\.documentValue)
    }

    /// A database user's credential must be a SCRAM-SHA-256 verifier.
    package static func validate(_ credential: DatabaseUserCredential) throws {
        guard credential.storedKey.count == 32, credential.serverKey.count == 32, !credential.salt.isEmpty,
            credential.iterations >= 4_096
        else {
            throw StoreError.invalid(
                "a database user's credential must be a SCRAM-SHA-256 verifier: 32-byte keys, a salt and at least 4096 iterations")
        }
    }
}

extension Date {
    /// Whole milliseconds since the Unix epoch, as BSON dates and the store's time columns use
    /// (clamped, so that no date can trap the conversion).
    package var milliseconds: Int64 {
        let ms = (timeIntervalSince1970 * 1000).rounded(.down)
        guard ms.isFinite else { return ms > 0 ? .max : .min }
        return Int64(exactly: ms) ?? (ms > 0 ? .max : .min)
    }

}
