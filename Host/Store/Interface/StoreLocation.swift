/// Where a store lives: a data directory (SQLite, the embedded default) or a database URL.
public enum StoreLocation: Sendable, Hashable, CustomStringConvertible {
    /// A SQLite store (`store.sqlite`) with its payload files, in this directory.
    case directory(String)

    public var description: String {
        switch self {
        case .directory(let path): path
        }
    }
}
