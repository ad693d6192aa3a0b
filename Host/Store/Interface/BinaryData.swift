import FerryBSON

/// What describes a binary payload (an image, a point cloud, any file) uploaded by a machine.
public struct BinaryMetadata: Sendable, Hashable {
    public var organizationID: String
    public var locationID: String
    public var robotID: String
    public var partID: String
    public var componentType: String
    public var componentName: String
    public var methodName: String
    public var fileName: String
    /// With its dot, e.g. `.jpeg`; may be empty.
    public var fileExtension: String
    public var mimeType: String
    /// Milliseconds since the Unix epoch, UTC.
    public var timeRequested: Int64
    public var timeReceived: Int64
    public var tags: [String]
    /// The uploader's stable id for this payload: storing it again returns the first copy. Nil
    /// stores a new payload every time.
    public var fileID: String?
    /// Viam's annotations of the payload (`{"bboxes": […], "classifications": […]}`, proto field
    /// names), e.g. a vision service's detections on an image; nil when it has none.
    public var annotations: BSONDocument?
    /// The ids of the datasets the payload is in, sorted. On upload, those naming a dataset of the
    /// organisation put the payload in it; others are ignored.
    public var datasetIDs: [String]

    public init(
        organizationID: String, locationID: String = "", robotID: String = "", partID: String = "",
        componentType: String = "", componentName: String = "", methodName: String = "", fileName: String = "",
        fileExtension: String = "", mimeType: String = "application/octet-stream", timeRequested: Int64,
        timeReceived: Int64, tags: [String] = [], fileID: String? = nil, annotations: BSONDocument? = nil,
        datasetIDs: [String] = []
    ) {
        self.organizationID = organizationID
        self.locationID = locationID
        self.robotID = robotID
        self.partID = partID
        self.componentType = componentType
        self.componentName = componentName
        self.methodName = methodName
        self.fileName = fileName
        self.fileExtension = fileExtension
        self.mimeType = mimeType
        self.timeRequested = timeRequested
        self.timeReceived = timeReceived
        self.tags = tags
        self.fileID = fileID
        self.annotations = annotations
        self.datasetIDs = datasetIDs
    }
}

/// A stored payload.
public struct BinaryRecord: Sendable, Hashable {
    /// A UUID string.
    public var id: String
    /// As stored; `fileID` is the id given, or `id` when none was.
    public var metadata: BinaryMetadata
    public var size: Int
    /// Hex SHA-256 of the bytes, for integrity checks.
    public var sha256: String
    /// Absolute path of the payload file, or nil where the payload lives in the database.
    public var path: String?
    /// False when the file id had been stored before and this call stored nothing.
    public var isNew: Bool

    public init(id: String, metadata: BinaryMetadata, size: Int, sha256: String, path: String?, isNew: Bool) {
        self.id = id
        self.metadata = metadata
        self.size = size
        self.sha256 = sha256
        self.path = path
        self.isNew = isNew
    }
}
