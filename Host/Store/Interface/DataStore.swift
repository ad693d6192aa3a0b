/// Everything the data server needs from storage, by job: `IdentityStore`, `ReadingIngest`,
/// `ReadingQueries`, `ReadingSeries` (a chart's extremes), `BinaryStore`, `BinaryQueries`, `AnnotationEdits`, `DatasetStore`, `DataIndexStore`, `SavedQueryStore`, `ReadingDeletion`, `RetentionStore`, `PipelineStore` (sinks and pipelines) and `StoreTransfer` (`ferry store migrate`). SQLite
/// (`FerryStoreSQLite`, the embedded default) and PostgreSQL implement it; `StoreFactory` opens one
/// from a `StoreLocation`. Every method throws `StoreError`, except that a cancelled SQL query
/// throws `CancellationError`. Every query is scoped to one organisation.
public protocol DataStore: IdentityStore, ReadingIngest, ReadingQueries, ReadingSeries, BinaryStore, BinaryQueries, AnnotationEdits, DatasetStore, DataIndexStore, SavedQueryStore, ReadingDeletion, RetentionStore, PipelineStore, StoreTransfer {
    /// Where the store lives, for logs and messages (a path, or a URL without its password).
    var location: String { get }
    /// Bytes the store takes: its database files and payloads (SQLite), or the database's size
    /// as PostgreSQL reports it. Sampled for the `ferry_store_size_bytes` gauge.
    func storageBytes() async throws -> Int64
}

/// The store's name before it was split by job; code written against it keeps compiling.
public typealias ReadingStore = DataStore
