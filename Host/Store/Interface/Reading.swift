import FerryBSON

/// One tabular reading with Viam's columns.
public struct Reading: Sendable, Hashable {
    public var organizationID: String
    public var locationID: String
    public var robotID: String
    public var partID: String
    public var componentType: String
    public var componentName: String
    public var methodName: String
    /// Milliseconds since the Unix epoch, UTC (BSON datetime precision).
    public var timeRequested: Int64
    public var timeReceived: Int64
    public var tags: [String]
    public var additionalParameters: BSONDocument
    /// The reading document, e.g. `{"readings": {"temperature": 21.5}}`.
    public var data: BSONDocument

    public init(
        organizationID: String, locationID: String = "", robotID: String = "", partID: String = "",
        componentType: String = "", componentName: String = "", methodName: String = "",
        timeRequested: Int64, timeReceived: Int64, tags: [String] = [], additionalParameters: BSONDocument = [:],
        data: BSONDocument
    ) {
        self.organizationID = organizationID
        self.locationID = locationID
        self.robotID = robotID
        self.partID = partID
        self.componentType = componentType
        self.componentName = componentName
        self.methodName = methodName
        self.timeRequested = timeRequested
        self.timeReceived = timeReceived
        self.tags = tags
        self.additionalParameters = additionalParameters
        self.data = data
    }
}

/// Identifies an upload as records `[firstRecord, lastRecord)` of a capture file with a stable
/// id, so that sending it again (or an overlapping range) stores each record once.
public struct IdempotencyKey: Sendable, Hashable {
    public var fileID: String
    public var firstRecord: Int
    public var lastRecord: Int

    public init(fileID: String, firstRecord: Int, lastRecord: Int) {
        self.fileID = fileID
        self.firstRecord = firstRecord
        self.lastRecord = lastRecord
    }
}

/// The outcome of an insert.
public struct InsertResult: Sendable, Hashable {
    /// Rows newly stored (records already applied under the idempotency key are not counted).
    /// (What they invalidate for pipelines is logged by the insert itself: `PipelineInvalidationLog`.)
    public var inserted: Int
    /// BSON bytes of every reading received (`data` and `additional_parameters`), newly stored or
    /// not: what `ferry_ingest_bytes_total` counts, known here without encoding anything again.
    public var bytes: Int

    public init(inserted: Int, bytes: Int = 0) {
        self.inserted = inserted
        self.bytes = bytes
    }
}

/// Where a query reads from.
public enum ReadingSource: Sendable, Hashable {
    /// Every reading ever stored.
    case standard
    /// The rolling window of recent readings.
    case hotStorage
}
