import FerryStore
import Foundation
import GRDB

extension SQLiteReadingStore {
    /// The database with its WAL, and the binary payloads as their rows record them (walking a
    /// payload directory of millions of files for a gauge would cost more than it tells).
    public func storageBytes() async throws -> Int64 {
        let payloads = try await read("measuring the binary payloads") { db in
            try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(size), 0) FROM binary_data") ?? 0
        }
        let files = ["", "-wal", "-shm"].map { databasePath + $0 }
        let database = files.reduce(Int64(0)) { total, path in
            total + ((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? 0)
        }
        return database + payloads
    }
}
