import ArgumentParser
import FerryBSON
import FerryRun
import FerryStore
import Foundation

/// `ferry data export binary|tabular`: the filtered data of the store, as files, read from the
/// store directly (as `viam data export` does through the cloud).
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Export binary data (files) or tabular data (JSON lines) to a directory.",
        subcommands: [Binary.self, Tabular.self])

    struct Binary: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export the matching binary data: DESTINATION/data/ID.EXT and DESTINATION/metadata/ID.json.",
            discussion: """
                Files already exported with the right size are kept, so an interrupted export resumes where it stopped. \
                Each file is written under a temporary name and renamed when complete.
                """)
        @OptionGroup var store: StoreArguments
        @OptionGroup var filter: DataFilterOptions
        @OptionGroup var tags: TagsFilterOption
        @Option(help: "The directory to export into (created if missing).") var destination: String
        @Option(help: "How many files to export at once.") var parallel = 8

        func validate() throws {
            guard parallel >= 1 else { throw ValidationError("--parallel must be at least 1") }
        }

        func run() async throws {
            let binaryFilter = try filter.binaryFilter(tags: tags.tags)
            for directory in ["data", "metadata"] {
                try FileManager.default.createDirectory(
                    atPath: (destination as NSString).appendingPathComponent(directory), withIntermediateDirectories: true)
            }
            try await store.perform { store in
                var total = 0
                for organization in filter.organizations {
                    total += try await store.binaryCount(organizationID: organization, filter: binaryFilter).count
                }
                let progress = Progress(total: total, unit: "files")
                for organization in filter.organizations {
                    var cursor: BinaryCursor?
                    repeat {
                        let page = try await store.binaryPage(
                            organizationID: organization, filter: binaryFilter, descending: false, after: cursor, limit: 100)
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            for (index, record) in page.records.enumerated() {
                                if index >= parallel { try await group.next() }
                                group.addTask { try await export(record, from: store, progress: progress) }
                            }
                            try await group.waitForAll()
                        }
                        cursor = page.next
                    } while cursor != nil
                }
                progress.finish("exported \(progress.done) binary data files into \(destination) (\(progress.skipped) already there)")
            }
        }

        func export(_ record: BinaryRecord, from store: any DataStore, progress: Progress) async throws {
            let name = Self.fileName(record)
            let data = (destination as NSString).appendingPathComponent("data/\(name)")
            if (try? FileManager.default.attributesOfItem(atPath: data)[.size] as? Int) == record.size {
                progress.advance(skipped: true)
                return
            }
            guard let bytes = try await store.binaryData(organizationID: record.metadata.organizationID, id: record.id) else {
                throw Failure("binary data \(record.id) was deleted during the export; run it again")
            }
            try Self.write(Data(bytes), to: data)
            let metadata = (destination as NSString).appendingPathComponent("metadata/\(record.id).json")
            try Self.write(Data(Self.metadata(record).extendedJSON(.relaxed).utf8), to: metadata)
            progress.advance(skipped: false)
        }

        /// The id (safe in a path: ids are UUIDs, but the store is not trusted to say so) and the
        /// upload's extension.
        static func fileName(_ record: BinaryRecord) -> String {
            let id = record.id.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? String($0) : "_" }.joined()
            let ext = record.metadata.fileExtension
            let safeExt = ext.hasPrefix(".") && ext.dropFirst().allSatisfy { $0.isLetter || $0.isNumber } ? ext : ""
            return id + safeExt
        }

        static func metadata(_ record: BinaryRecord) -> BSONDocument {
            let m = record.metadata
            var document: BSONDocument = [
                "id": .string(record.id), "organization_id": .string(m.organizationID), "location_id": .string(m.locationID),
                "robot_id": .string(m.robotID), "part_id": .string(m.partID), "component_type": .string(m.componentType),
                "component_name": .string(m.componentName), "method_name": .string(m.methodName), "file_name": .string(m.fileName),
                "file_ext": .string(m.fileExtension), "mime_type": .string(m.mimeType), "time_requested": .datetime(m.timeRequested),
                "time_received": .datetime(m.timeReceived), "tags": .array(m.tags.map { .string($0) }),
                "dataset_ids": .array(m.datasetIDs.map { .string($0) }), "size": .int64(Int64(record.size)), "sha256": .string(record.sha256),
            ]
            if let annotations = m.annotations { document["annotations"] = .document(annotations) }
            return document
        }

        /// Under a temporary name, renamed once complete: a file with its final name is whole.
        static func write(_ data: Data, to path: String) throws {
            let temporary = path + ".partial"
            try data.write(to: URL(fileURLWithPath: temporary))
            guard rename(temporary, path) == 0 else { throw Failure("cannot rename \(temporary) to \(path): \(String(cString: strerror(errno)))") }
        }
    }

    struct Tabular: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export the matching readings to DESTINATION/data.ndjson, one relaxed Extended JSON document per line.")
        @OptionGroup var store: StoreArguments
        @OptionGroup var filter: DataFilterOptions
        @OptionGroup var tags: TagsFilterOption
        @Option(help: "The directory to export into (created if missing).") var destination: String

        func validate() throws {
            let flags = filter.binaryOnlyFlags + (tags.tags.isEmpty ? [] : ["--tags"])
            guard flags.isEmpty else { throw ValidationError("\(flags.joined(separator: ", ")) filter binary data only; remove them") }
        }

        func run() async throws {
            let readingFilter = try filter.readingFilter()
            try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true)
            let path = (destination as NSString).appendingPathComponent("data.ndjson")
            let temporary = path + ".partial"
            guard FileManager.default.createFile(atPath: temporary, contents: nil), let out = FileHandle(forWritingAtPath: temporary) else {
                throw Failure("cannot write \(temporary); check that the destination is writable")
            }
            defer { try? out.close() }
            try await store.perform { store in
                let progress = Progress(total: nil, unit: "readings")
                for organization in filter.organizations {
                    try await store.forEachReadingPage(organizationID: organization, source: .standard, filter: readingFilter) { page in
                        var lines = Data()
                        for document in page { lines.append(contentsOf: Array((document.extendedJSON(.relaxed) + "\n").utf8)) }
                        try out.write(contentsOf: lines)
                        progress.advance(by: page.count)
                        return true
                    }
                }
                try out.synchronize()
                guard rename(temporary, path) == 0 else { throw Failure("cannot rename \(temporary) to \(path): \(String(cString: strerror(errno)))") }
                progress.finish("exported \(progress.done) readings to \(path)")
            }
        }
    }
}

/// A progress line on stderr, redrawn in place when stderr is a terminal; the summary always.
final class Progress: @unchecked Sendable {
    // @unchecked: every field is read and written under `lock`.
    private let lock = NSLock()
    /// Nil when not known beforehand.
    private let total: Int?
    private let unit: String
    private let terminal = isatty(STDERR_FILENO) != 0
    private var count = 0
    private var skips = 0

    init(total: Int?, unit: String) {
        self.total = total
        self.unit = unit
    }

    var done: Int { lock.withLock { count } }
    var skipped: Int { lock.withLock { skips } }

    func advance(by n: Int = 1, skipped: Bool = false) {
        let line: String? = lock.withLock {
            count += n
            if skipped { skips += n }
            return terminal ? "\r\(count)\(total.map { "/\($0)" } ?? "") \(unit)" : nil
        }
        if let line { FileHandle.standardError.write(Data(line.utf8)) }
    }

    func finish(_ summary: String) {
        FileHandle.standardError.write(Data(((terminal ? "\n" : "") + summary + "\n").utf8))
    }
}
