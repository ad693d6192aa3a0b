import Crypto
import FerryBSON
import FerryStore
import Foundation
import GRDB

extension SQLiteReadingStore {
    public func storeBinary(_ metadata: BinaryMetadata, bytes: [UInt8]) async throws -> BinaryRecord {
        try StoreChecks.validate(binary: metadata)
        if let fileID = metadata.fileID, let existing = try await binary(organizationID: metadata.organizationID, fileID: fileID) {
            return existing
        }
        let id = UUID().uuidString.lowercased()
        var stored = metadata
        stored.fileID = metadata.fileID ?? id
        let relativePath = "binary/\(metadata.organizationID)/\(id)\(Self.safeExtension(metadata.fileExtension))"
        let path = absolute(relativePath)
        let digest = try await Offload.run {
            try AtomicFile.write(bytes, to: path)
            return Hex.encode(SHA256.hash(data: bytes))
        }
        let record = BinaryRecord(id: id, metadata: stored, size: bytes.count, sha256: digest, path: path, isNew: true)
        let joined: [String]?
        do {
            joined = try await insertBinaryRow(record, relativePath: relativePath)
        } catch {
            // No row refers to the file: remove it so a failed upload leaves nothing behind.
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
        if let joined {
            var inserted = record
            inserted.metadata.datasetIDs = joined
            return inserted
        }
        // A concurrent upload of the same file id won: keep its copy, drop ours.
        try? FileManager.default.removeItem(atPath: path)
        guard let existing = try await binary(organizationID: stored.organizationID, fileID: stored.fileID!) else {
            throw StoreError(.storage, "binary upload \(stored.fileID!) conflicted with another that then vanished; retry it")
        }
        return existing
    }

    /// Inserts the row and puts it into its datasets; returns the datasets it joined, or nil when the
    /// file id was stored already.
    private func insertBinaryRow(_ record: BinaryRecord, relativePath: String) async throws -> [String]? {
        let stored = record.metadata
        let (id, size, digest) = (record.id, record.size, record.sha256)
        return try await write("storing binary metadata for \(relativePath)") { db in
            try Self.requireOrganization(db, stored.organizationID)
            try db.execute(
                sql: """
                    INSERT INTO binary_data (id, organization_id, location_id, robot_id, part_id, component_type,
                        component_name, method_name, file_id, file_name, file_extension, mime_type, size, sha256,
                        time_requested, time_received, tags, path, annotations)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (organization_id, file_id) DO NOTHING
                    """,
                arguments: [
                    id, stored.organizationID, stored.locationID, stored.robotID, stored.partID, stored.componentType,
                    stored.componentName, stored.methodName, stored.fileID, stored.fileName, stored.fileExtension,
                    stored.mimeType, size, digest, stored.timeRequested, stored.timeReceived,
                    ReadingEncoding.tagsJSON(stored.tags), relativePath, stored.annotations?.extendedJSON(.relaxed),
                ])
            guard db.changesCount > 0 else { return nil }
            return try Self.addUploadToDatasets(db, binaryID: id, metadata: stored)
        }
    }

    public func binary(organizationID: String, id: String) async throws -> BinaryRecord? {
        try await fetchBinary("id = ?", organizationID: organizationID, key: id)
    }

    public func binaryData(organizationID: String, id: String) async throws -> [UInt8]? {
        guard let record = try await binary(organizationID: organizationID, id: id), let path = record.path else { return nil }
        return try await Offload.run {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw StoreError(.storage, "the payload file \(path) of binary \(id) is missing or unreadable")
            }
            return [UInt8](data)
        }
    }

    func binary(organizationID: String, fileID: String) async throws -> BinaryRecord? {
        try await fetchBinary("file_id = ?", organizationID: organizationID, key: fileID)
    }

    private func fetchBinary(_ condition: String, organizationID: String, key: String) async throws -> BinaryRecord? {
        let directory = dataDirectory
        return try await read("looking up binary data") { db in
            let row = try Row.fetchOne(
                db, sql: "SELECT \(Self.binarySelectList) FROM binary_data WHERE organization_id = ? AND \(condition)",
                arguments: [organizationID, key])
            return try row.map { try Self.binaryRecord($0, directory: directory) }
        }
    }

    static let binarySelectList = """
        id, organization_id, location_id, robot_id, part_id, component_type, component_name, method_name, file_id, \
        file_name, file_extension, mime_type, size, sha256, time_requested, time_received, tags, path, annotations, \
        (SELECT json_group_array(dataset_id) FROM dataset_members WHERE binary_id = binary_data.id)
        """

    /// A row of `binarySelectList` as a record.
    static func binaryRecord(_ row: Row, directory: String) throws -> BinaryRecord {
        let tags = try ReadingEncoding.tags(fromJSON: row[16]).compactMap(\.stringValue)
        let annotations = try (row[18] as String?).map { try BSONDocument(extendedJSON: $0) }
        let metadata = BinaryMetadata(
            organizationID: row[1], locationID: row[2], robotID: row[3], partID: row[4], componentType: row[5],
            componentName: row[6], methodName: row[7], fileName: row[9], fileExtension: row[10], mimeType: row[11],
            timeRequested: row[14], timeReceived: row[15], tags: tags, fileID: row[8], annotations: annotations,
            datasetIDs: try ReadingEncoding.tags(fromJSON: row[19]).compactMap(\.stringValue).sorted())
        return BinaryRecord(
            id: row[0], metadata: metadata, size: row[12], sha256: row[13], path: absolute(row[17], in: directory), isNew: false)
    }

    func absolute(_ relativePath: String) -> String { Self.absolute(relativePath, in: dataDirectory) }

    /// Removes payload files no metadata row refers to: a crash between writing a payload and its
    /// row (or a temp file cut short) leaves one behind. Run at start-up, before serving; returns
    /// how many were removed.
    public func removeOrphanedBinaries() async throws -> Int {
        let root = absolute("binary")
        let referenced = try await read("listing binary payloads") { db in
            Set(try String.fetchAll(db, sql: "SELECT path FROM binary_data"))
        }
        let paths = (FileManager.default.enumerator(atPath: root)?.allObjects as? [String]) ?? []
        var removed = 0
        for relative in paths {
            var isDirectory: ObjCBool = false
            let path = "\(root)/\(relative)"
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                !referenced.contains("binary/\(relative)")
            else { continue }
            if (try? FileManager.default.removeItem(atPath: path)) != nil { removed += 1 }
        }
        if removed > 0 { logger.warning("removed \(removed) binary payload files without metadata (left by an interrupted upload)") }
        return removed
    }

    static func absolute(_ relativePath: String, in directory: String) -> String {
        URL(fileURLWithPath: directory).appendingPathComponent(relativePath).path
    }

    /// The extension as a file-name suffix: `.` plus up to 16 letters or digits, else nothing.
    static func safeExtension(_ fileExtension: String) -> String {
        let body = fileExtension.hasPrefix(".") ? String(fileExtension.dropFirst()) : fileExtension
        guard !body.isEmpty, body.count <= 16, body.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else { return "" }
        return "." + body
    }
}
