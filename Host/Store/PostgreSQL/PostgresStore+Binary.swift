import Crypto
import FerryBSON
import FerryStore
import Foundation
import PostgresNIO

extension PostgresStore {
    static let binaryColumns = """
        id, organization_id, location_id, robot_id, part_id, component_type, component_name, method_name, file_id, \
        file_name, file_extension, mime_type, size, sha256, time_requested, time_received, tags, annotations, \
        ARRAY(SELECT dataset_id FROM dataset_members WHERE binary_id = binary_data.id ORDER BY dataset_id COLLATE "C")
        """

    /// Metadata and payload in one row, so a payload is never without its metadata or the reverse.
    public func storeBinary(_ metadata: BinaryMetadata, bytes: [UInt8]) async throws -> BinaryRecord {
        try StoreChecks.validate(binary: metadata)
        for (text, what) in [
            (metadata.locationID, "location_id"), (metadata.robotID, "robot_id"), (metadata.partID, "part_id"),
            (metadata.componentType, "component_type"), (metadata.componentName, "component_name"),
            (metadata.methodName, "method_name"), (metadata.fileName, "file name"), (metadata.fileExtension, "file extension"),
            (metadata.mimeType, "MIME type"), (metadata.fileID ?? "", "file id"),
        ] {
            try StoreChecks.validate(text: text, what: "the \(what) of a binary upload")
        }
        let id = UUID().uuidString.lowercased()
        var stored = metadata
        stored.fileID = metadata.fileID ?? id
        let digest = try await Offload.run { Hex.encode(SHA256.hash(data: bytes)) }
        let m = stored
        let inserted = try await rows(
            "storing binary data \(m.fileID!)",
            """
            WITH inserted AS (
            INSERT INTO binary_data (id, organization_id, location_id, robot_id, part_id, component_type, component_name,
                method_name, file_id, file_name, file_extension, mime_type, size, sha256, time_requested, time_received,
                tags, annotations, payload)
            SELECT \(id), \(m.organizationID), \(m.locationID), \(m.robotID), \(m.partID), \(m.componentType),
                \(m.componentName), \(m.methodName), \(m.fileID!), \(m.fileName), \(m.fileExtension), \(m.mimeType),
                \(Int64(bytes.count)), \(digest), \(m.timeRequested), \(m.timeReceived), \(PGJSON.text(m.tags))::jsonb,
                \(m.annotations?.extendedJSON(.relaxed)), \(bytes.byteBuffer)
            WHERE EXISTS (SELECT 1 FROM organizations WHERE id = \(m.organizationID))
            ON CONFLICT (organization_id, file_id) DO NOTHING
            RETURNING id
            ), in_datasets AS (
                -- The upload's datasets that its organisation has: the payload joins them in the same statement.
                INSERT INTO dataset_members (dataset_id, binary_id)
                SELECT d.id, inserted.id FROM inserted, datasets d
                WHERE d.organization_id = \(m.organizationID) AND d.id = ANY(\(m.datasetIDs))
                RETURNING dataset_id
            )
            SELECT ARRAY(SELECT dataset_id FROM in_datasets ORDER BY dataset_id COLLATE "C") FROM inserted
            """)
        if let row = inserted.first {
            var joined = m
            joined.datasetIDs = try row.decode([String].self)
            return BinaryRecord(id: id, metadata: joined, size: bytes.count, sha256: digest, path: nil, isNew: true)
        }
        // Either the file id was stored before (this or a concurrent upload) or the organisation is unknown.
        if let existing = try await fetchBinary("file_id", organizationID: m.organizationID, key: m.fileID!) { return existing }
        throw StoreChecks.noSuchOrganization(m.organizationID)
    }

    public func binary(organizationID: String, id: String) async throws -> BinaryRecord? {
        try await fetchBinary("id", organizationID: organizationID, key: id)
    }

    public func binaryData(organizationID: String, id: String) async throws -> [UInt8]? {
        try await rows(
            "reading binary data \(id)", "SELECT payload FROM binary_data WHERE organization_id = \(organizationID) AND id = \(id)"
        ).first.map { try $0.decode(ByteBuffer.self).bytes }
    }

    /// Payload and metadata are one row: nothing can be left half-written.
    public func removeOrphanedBinaries() async throws -> Int { 0 }

    private func fetchBinary(_ column: String, organizationID: String, key: String) async throws -> BinaryRecord? {
        var binds = PostgresBindings()
        binds.append(organizationID)
        binds.append(key)
        let query = PostgresQuery(
            unsafeSQL: "SELECT \(Self.binaryColumns) FROM binary_data WHERE organization_id = $1 AND \(column) = $2", binds: binds)
        guard let row = try await rows("looking up binary data", query).first else { return nil }
        return try Self.binaryRecord(row)
    }

    /// A row of `binaryColumns` as a record.
    static func binaryRecord(_ row: PostgresRow) throws -> BinaryRecord {
        let c = row.makeRandomAccess()
        let tags = try Self.tags(c[16]).compactMap(\.stringValue)
        let metadata = BinaryMetadata(
            organizationID: try c[1].decode(String.self), locationID: try c[2].decode(String.self),
            robotID: try c[3].decode(String.self), partID: try c[4].decode(String.self),
            componentType: try c[5].decode(String.self), componentName: try c[6].decode(String.self),
            methodName: try c[7].decode(String.self), fileName: try c[9].decode(String.self),
            fileExtension: try c[10].decode(String.self), mimeType: try c[11].decode(String.self),
            timeRequested: try c[14].decode(Int64.self), timeReceived: try c[15].decode(Int64.self), tags: tags,
            fileID: try c[8].decode(String.self),
            annotations: try c[17].decode(String?.self).map { try BSONDocument(extendedJSON: $0) },
            datasetIDs: try c[18].decode([String].self))
        return BinaryRecord(
            id: try c[0].decode(String.self), metadata: metadata, size: Int(try c[12].decode(Int64.self)),
            sha256: try c[13].decode(String.self), path: nil, isNew: false)
    }
}
