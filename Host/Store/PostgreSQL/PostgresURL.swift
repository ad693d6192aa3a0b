import FerryStore
import Foundation

/// A libpq connection URI: `postgresql://[user[:password]@][host][:port][/dbname][?param=value&…]`
/// (`postgres://` too). As libpq does: a password may come from `PGPASSWORD`; `host` may be a
/// Unix-socket directory (`?host=/run/postgresql`, or percent-encoded in the authority); `sslmode`
/// is `disable`, `allow`, `prefer` (the default), `require`, `verify-ca` or `verify-full`, with
/// `sslrootcert` naming the CA file for the two verifying modes.
public struct PostgresURL: Sendable, Hashable, CustomStringConvertible {
    public enum SSLMode: String, Sendable, Hashable, CaseIterable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public var user: String
    public var password: String?
    /// A host name or address, or an absolute path: the directory of a Unix socket.
    public var host: String
    public var port: Int
    public var database: String
    public var sslMode: SSLMode
    public var sslRootCert: String?
    public var applicationName: String?
    public var connectTimeout: Duration?

    public var isUnixSocket: Bool { host.hasPrefix("/") }
    /// The socket file for a Unix-socket host (`<dir>/.s.PGSQL.<port>`).
    public var socketPath: String { "\(host)/.s.PGSQL.\(port)" }

    /// True for the URL schemes that select PostgreSQL.
    public static func isPostgres(_ text: String) -> Bool {
        let lowered = text.lowercased()
        return lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://")
    }

    public init(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard Self.isPostgres(text) else {
            throw PostgresURLError(text, "it must start with postgres:// or postgresql://")
        }
        let rest = String(text[text.range(of: "://")!.upperBound...])
        var authorityAndPath = rest
        var queryText = ""
        if let question = rest.firstIndex(of: "?") {
            authorityAndPath = String(rest[..<question])
            queryText = String(rest[rest.index(after: question)...])
        }
        var authority = authorityAndPath
        var path = ""
        if let slash = authorityAndPath.firstIndex(of: "/") {
            authority = String(authorityAndPath[..<slash])
            path = String(authorityAndPath[authorityAndPath.index(after: slash)...])
        }
        var userInfo: String?
        var hostPort = authority
        if let at = authority.lastIndex(of: "@") {
            userInfo = String(authority[..<at])
            hostPort = String(authority[authority.index(after: at)...])
        }
        var user: String?
        var password: String?
        if let userInfo {
            if let colon = userInfo.firstIndex(of: ":") {
                user = try Self.decode(String(userInfo[..<colon]), text)
                password = try Self.decode(String(userInfo[userInfo.index(after: colon)...]), text)
            } else {
                user = try Self.decode(userInfo, text)
            }
        }
        var host = ""
        var port: Int?
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw PostgresURLError(text, "an IPv6 address needs its closing ]") }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let after = hostPort[hostPort.index(after: close)...]
            if after.hasPrefix(":") { port = try Self.port(String(after.dropFirst()), text) }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = try Self.decode(String(hostPort[..<colon]), text)
            port = try Self.port(String(hostPort[hostPort.index(after: colon)...]), text)
        } else {
            host = try Self.decode(hostPort, text)
        }
        if host.contains(",") { throw PostgresURLError(text, "several hosts in one URL are not supported; give one") }
        var sslMode = SSLMode.prefer
        var sslRootCert: String?
        var applicationName: String?
        var connectTimeout: Duration?
        for pair in queryText.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = try Self.decode(String(parts[0]), text)
            let value = try Self.decode(parts.count > 1 ? String(parts[1]) : "", text)
            switch key {
            case "sslmode":
                guard let mode = SSLMode(rawValue: value) else {
                    throw PostgresURLError(
                        text, "sslmode \(value.debugDescription) is not one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                sslMode = mode
            case "sslrootcert": sslRootCert = value
            case "host": host = value
            case "port": port = try Self.port(value, text)
            case "user": user = value
            case "password": password = value
            case "dbname": path = value
            case "application_name": applicationName = value
            case "connect_timeout":
                guard let seconds = Int(value), seconds >= 0 else { throw PostgresURLError(text, "connect_timeout takes whole seconds") }
                connectTimeout = seconds > 0 ? .seconds(seconds) : nil
            default:
                throw PostgresURLError(
                    text,
                    "the parameter \(key.debugDescription) is not supported (supported: sslmode, sslrootcert, host, port, user, password, dbname, application_name, connect_timeout)")
            }
        }
        self.user = user ?? environment["PGUSER"] ?? environment["USER"] ?? "postgres"
        self.password = password ?? environment["PGPASSWORD"]
        self.host = host.isEmpty ? (environment["PGHOST"] ?? "/var/run/postgresql") : host
        self.port = port ?? environment["PGPORT"].flatMap(Int.init) ?? 5432
        let database = try Self.decode(path, text)
        self.database = database.isEmpty ? (environment["PGDATABASE"] ?? self.user) : database
        self.sslMode = sslMode
        self.sslRootCert = sslRootCert
        self.applicationName = applicationName
        self.connectTimeout = connectTimeout
        if (sslMode == .verifyCA || sslMode == .verifyFull), isUnixSocket {
            throw PostgresURLError(text, "sslmode=\(sslMode.rawValue) needs a TCP host; a Unix socket has no TLS")
        }
    }

    /// The URL without its password, for logs and messages.
    public var description: String {
        let hostText = isUnixSocket ? "" : (host.contains(":") ? "[\(host)]" : host)
        var text = "postgresql://\(user)@\(hostText):\(port)/\(database)"
        var parameters: [String] = []
        if isUnixSocket { parameters.append("host=\(host)") }
        if sslMode != .prefer { parameters.append("sslmode=\(sslMode.rawValue)") }
        if !parameters.isEmpty { text += "?" + parameters.joined(separator: "&") }
        return text
    }

    private static func decode(_ part: String, _ text: String) throws -> String {
        guard let decoded = part.removingPercentEncoding else { throw PostgresURLError(text, "\(part) has a bad %-escape") }
        return decoded
    }

    private static func port(_ part: String, _ text: String) throws -> Int? {
        if part.isEmpty { return nil }
        guard let port = Int(part), (1...65_535).contains(port) else {
            throw PostgresURLError(text, "the port \(part.debugDescription) is not a number from 1 to 65535")
        }
        return port
    }
}

/// A database URL that cannot be used, with what was wrong (the password is never repeated).
public struct PostgresURLError: Error, CustomStringConvertible, Sendable {
    public var description: String

    init(_ url: String, _ problem: String) {
        description = "the database URL \(StoreLocation.redacted(url)) is not usable: \(problem)"
    }
}
