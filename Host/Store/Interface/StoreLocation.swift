/// Where a store lives: a data directory (SQLite, the embedded default) or a database URL.
public enum StoreLocation: Sendable, Hashable, CustomStringConvertible {
    /// A SQLite store (`store.sqlite`) with its payload files, in this directory.
    case directory(String)
    /// A PostgreSQL database, as a libpq URL (`postgres://` or `postgresql://`).
    case database(String)

    /// A postgres:// or postgresql:// URL names a database; anything else, a data directory.
    public init(directoryOrURL text: String) {
        self = Self.isDatabaseURL(text) ? .database(text) : .directory(text)
    }

    /// True for the URL schemes that select PostgreSQL.
    public static func isDatabaseURL(_ text: String) -> Bool {
        let lowered = text.lowercased()
        return lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://")
    }

    /// For logs and messages: a database URL never shows its password.
    public var description: String {
        switch self {
        case .directory(let path): path
        case .database(let url): Self.redacted(url)
        }
    }

    /// The URL with any password replaced by `***`.
    public static func redacted(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@"), let colon = rest[..<at].firstIndex(of: ":") else {
            return url.replacingPasswordParameter()
        }
        return (String(url[..<colon]) + ":***" + String(url[at...])).replacingPasswordParameter()
    }
}

extension String {
    /// `password=…` in a URL's query, replaced by `***`.
    fileprivate func replacingPasswordParameter() -> String {
        guard let range = range(of: "password=") else { return self }
        let end = self[range.upperBound...].firstIndex(of: "&") ?? endIndex
        return String(self[..<range.upperBound]) + "***" + String(self[end...])
    }
}
