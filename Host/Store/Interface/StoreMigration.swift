/// Copies every row of one store into another, kind by kind, page by page (constant memory),
/// keeping ids. Idempotent: a row the destination already has with the same content is skipped,
/// so a second run copies nothing and an interrupted run completes when run again; a row with the
/// same id and other content stops the copy with an error naming it (nothing of that page is written).
public enum StoreMigration {
    /// Rows copied and skipped of one kind so far.
    public struct Progress: Sendable, Hashable {
        public var kind: TransferKind
        public var copied = 0
        public var skipped = 0
        /// True once every row of the kind is done.
        public var finished = false

        public init(kind: TransferKind) { self.kind = kind }
    }

    /// Returns each kind's totals, in copy order; `progress` hears after every page.
    @discardableResult
    public static func copy(
        from source: any StoreTransfer, to destination: any StoreTransfer,
        progress: @Sendable (Progress) -> Void = { _ in }
    ) async throws -> [Progress] {
        try await source.checkSchemaIsKnown()
        try await destination.checkSchemaIsKnown()
        try await destination.beginImport()
        do {
            let totals = try await copyEveryKind(from: source, to: destination, progress: progress)
            try await destination.finishImport()
            return totals
        } catch {
            // What was copied stays: sequences move past it all the same, so that rows written
            // before a re-run cannot take a copied id.
            try? await destination.finishImport()
            throw error
        }
    }

    private static func copyEveryKind(
        from source: any StoreTransfer, to destination: any StoreTransfer, progress: @Sendable (Progress) -> Void
    ) async throws -> [Progress] {
        var totals: [Progress] = []
        for kind in TransferKind.allCases {
            var state = Progress(kind: kind)
            var cursor: String?
            repeat {
                let page = try await source.exportRecords(kind, after: cursor, limit: kind.batchSize)
                let (copied, skipped) = try await copyPage(page.records, to: destination)
                state.copied += copied
                state.skipped += skipped
                cursor = page.next
                if cursor != nil { progress(state) }
            } while cursor != nil
            state.finished = true
            progress(state)
            totals.append(state)
        }
        return totals
    }

    private static func copyPage(_ records: [TransferRecord], to destination: any StoreTransfer) async throws -> (Int, Int) {
        guard !records.isEmpty else { return (0, 0) }
        let existing = try await destination.existingRecords(records)
        var writes: [TransferRecord] = []
        var skipped = 0
        for record in records {
            guard let present = existing[record.key] else {
                writes.append(record)
                continue
            }
            if let merged = try merge(record, into: present) {
                writes.append(merged)
            } else {
                skipped += 1
            }
        }
        if !writes.isEmpty { try await write(writes, to: destination) }
        return (writes.count, skipped)
    }

    /// Writes a page; if the destination refuses it (a unique name or file id another row holds
    /// under another id), writes row by row to name the row it refuses.
    private static func write(_ records: [TransferRecord], to destination: any StoreTransfer) async throws {
        do {
            try await destination.importRecords(records)
        } catch let pageError as StoreError {
            for record in records {
                do {
                    try await destination.importRecords([record])
                } catch let error as StoreError {
                    throw StoreError(
                        error.kind,
                        "\(record.kind) \(record.key) cannot be written to the destination: \(error.message) Another row there may hold its unique name or file id under another id: remove it, or migrate into an empty store")
                }
            }
            throw pageError
        }
    }

    /// What to write over a row the destination has (nil: nothing, it is the same), or a conflict.
    private static func merge(_ record: TransferRecord, into present: TransferRecord) throws -> TransferRecord? {
        switch (record, present) {
        case (.ingestRanges(let org, let file, let ranges), .ingestRanges(_, _, let have)):
            // Records applied on either side stay applied: a host that uploaded to the destination
            // after an earlier run keeps its exactly-once guarantee.
            let union = IngestRanges(have + ranges).ranges
            return union == IngestRanges(have).ranges ? nil : .ingestRanges(organizationID: org, fileID: file, ranges: union)
        case (.setting(.hotStorageCutoff(let cutoff)), .setting(.hotStorageCutoff(let have))):
            // The cutoff only moves forward.
            return cutoff > have ? record : nil
        case (.setting(.databaseEndpoint), .setting(.databaseEndpoint)):
            // The destination's own servers recorded theirs: it is the newer.
            return nil
        case (.setting(.tokenSigningKey(let key)), .setting(.tokenSigningKey(let have))):
            guard key == have else {
                throw StoreError.transferConflict(
                    .settings, key: "token signing key",
                    advice:
                        "Tokens and download URLs the source issued would not verify on the destination. If nothing depends on the destination's own tokens, delete its key (the row token_signing_key of store_meta on PostgreSQL, the file token-secret in a data directory) and run the migration again"
                )
            }
            return nil
        case (.reading(let id, let reading, let hot), .reading(_, _, let wasHot)) where record.sameContent(as: present):
            // Same reading; a SQLite destination may still lack its hot-storage copy.
            return hot && !wasHot ? .reading(id: id, reading, hot: true) : nil
        default:
            guard record.sameContent(as: present) else { throw StoreError.transferConflict(record.kind, key: record.key) }
            return nil
        }
    }
}
