import FerryBSON
import FerryStore
import Foundation
import NIOCore

/// An upload batch as the column arrays `ferry_ingest` takes: each reading checked, its data and
/// parameters as BSON bytes and as JSON text for the `jsonb` columns.
///
/// This is the data server's own CPU per reading, paid while the uploader waits for its answer,
/// so a large batch is converted in slices on all cores and the slices joined in order.
struct IngestColumns: Sendable {
    var orgs: [String] = [], locations: [String] = [], robots: [String] = [], parts: [String] = []
    var types: [String] = [], components: [String] = [], methods: [String] = []
    var requested: [PGTime] = [], received: [PGTime] = []
    var tags: [String] = [], parameters: [String] = [], data: [String] = []
    var parametersBSON: [ByteBuffer] = [], dataBSON: [ByteBuffer] = []
    /// BSON bytes of every reading's data and parameters (the ingest metric).
    var bytes = 0

    /// The columns of `readings`, in their order. A bad reading fails the batch with the error the
    /// first bad reading in order gives, however the slices ran.
    static func of(_ readings: [Reading]) async throws -> IngestColumns {
        let parts = try await Slices.map(count: readings.count) { range in try IngestColumns(readings[range]) }
        guard parts.count > 1 else { return parts[0] }
        var columns = IngestColumns(capacity: readings.count)
        for part in parts { columns.append(part) }
        return columns
    }

    init(capacity: Int) { reserve(capacity) }

    /// Whether a value holds a double: equal documents with doubles can differ in their bytes
    /// (0.0 == -0.0), so they are not reused.
    static func holdsDouble(_ value: BSON) -> Bool {
        switch value {
        case .double: true
        case .document(let document): document.contains { holdsDouble($0.value) }
        case .array(let items): items.contains(where: holdsDouble)
        default: false
        }
    }

    init(_ readings: ArraySlice<Reading>) throws {
        reserve(readings.count)
        // One upload's readings share their tags and parameters (the upload's metadata): their
        // conversion is made once per run of equal values.
        var lastTags: (tags: [String], text: String)?
        var lastParameters: (document: BSONDocument, text: String, bytes: ByteBuffer)?
        for r in readings {
            try StoreChecks.validate(reading: r)
            let dataBytes: [UInt8]
            let params: (document: BSONDocument, text: String, bytes: ByteBuffer)
            do {
                dataBytes = try r.data.encodeChecked()
                if let last = lastParameters, last.document == r.additionalParameters, !Self.holdsDouble(.document(last.document)) {
                    params = last
                } else {
                    let encoded = try r.additionalParameters.encodeChecked()
                    params = (r.additionalParameters, PGJSON.text(r.additionalParameters), encoded.byteBuffer)
                    lastParameters = params
                }
            } catch {
                throw StoreChecks.unstorableReading(r, error)
            }
            let tagText: String
            if let last = lastTags, last.tags == r.tags {
                tagText = last.text
            } else {
                tagText = PGJSON.text(r.tags)
                lastTags = (r.tags, tagText)
            }
            orgs.append(r.organizationID)
            locations.append(r.locationID)
            robots.append(r.robotID)
            parts.append(r.partID)
            types.append(r.componentType)
            components.append(r.componentName)
            methods.append(r.methodName)
            requested.append(PGTime(r.timeRequested))
            received.append(PGTime(r.timeReceived))
            tags.append(tagText)
            parameters.append(params.text)
            data.append(PGJSON.text(r.data))
            parametersBSON.append(params.bytes)
            dataBSON.append(dataBytes.byteBuffer)
            bytes += dataBytes.count + params.bytes.readableBytes
        }
    }

    private mutating func reserve(_ n: Int) {
        for keyPath in [\IngestColumns.orgs, \.locations, \.robots, \.parts, \.types, \.components, \.methods, \.tags, \.parameters, \.data] {
            self[keyPath: keyPath].reserveCapacity(n)
        }
        requested.reserveCapacity(n)
        received.reserveCapacity(n)
        parametersBSON.reserveCapacity(n)
        dataBSON.reserveCapacity(n)
    }

    private mutating func append(_ other: IngestColumns) {
        orgs += other.orgs
        locations += other.locations
        robots += other.robots
        parts += other.parts
        types += other.types
        components += other.components
        methods += other.methods
        requested += other.requested
        received += other.received
        tags += other.tags
        parameters += other.parameters
        data += other.data
        parametersBSON += other.parametersBSON
        dataBSON += other.dataBSON
        bytes += other.bytes
    }
}
