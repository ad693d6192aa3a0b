import FerryBSON
import FerrySystem
import Foundation

/// A MongoDB connection string (`mongodb://[user[:password]@]host[:port][,host…][/db][?options]`),
/// as far as the host's capture client uses it: hosts, credentials, `authSource`,
/// `authMechanism` (SCRAM-SHA-256 only), `tls`/`ssl`, `tlsCAFile`, `tlsInsecure`
/// (`tlsAllowInvalidCertificates`), `connectTimeoutMS` and `serverSelectionTimeoutMS`. Other
/// options are accepted and ignored, as drivers ignore options they do not know.
package struct MongoURI: Sendable, Equatable, CustomStringConvertible {
    package struct Host: Sendable, Equatable {
        package var host: String
        package var port: Int
    }

    package var hosts: [Host]
    package var username: String?
    package var password: String?
    /// The database users authenticate against: `authSource`, else the URI's database, else admin.
    package var authSource: String
    package var tls: Bool
    /// A PEM file of certificates to trust; relative paths are resolved against the config file's directory.
    package var tlsCAFile: String?
    /// Accept any certificate (tests and trusted networks only).
    package var tlsInsecure: Bool
    /// How long to wait for a connection (and its handshake), in milliseconds.
    package var connectTimeoutMS: Int

    /// Parses `text`; `baseDirectory` resolves a relative `tlsCAFile`.
    package init(_ text: String, baseDirectory: String = FileManager.default.currentDirectoryPath) throws(MongoURIError) {
        if text.hasPrefix("mongodb+srv://") {
            throw MongoURIError("mongodb+srv:// (DNS seed lists) is not supported; list the hosts: mongodb://host:port")
        }
        guard text.hasPrefix("mongodb://") else { throw MongoURIError("a MongoDB URI starts with mongodb://") }
        var rest = Substring(text.dropFirst("mongodb://".count))
        var options = Substring("")
        if let question = rest.firstIndex(of: "?") {
            options = rest[rest.index(after: question)...]
            rest = rest[..<question]
        }
        var database: String?
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            if !path.isEmpty { database = try Self.decode(path, "the database") }
            rest = rest[..<slash]
        }
        if let at = rest.lastIndex(of: "@") {
            let userinfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userinfo.firstIndex(of: ":") {
                username = try Self.decode(userinfo[..<colon], "the user name")
                password = try Self.decode(userinfo[userinfo.index(after: colon)...], "the password")
            } else {
                username = try Self.decode(userinfo, "the user name")
            }
            if username?.isEmpty == true { throw MongoURIError("the user name is empty") }
        }
        guard !rest.isEmpty else { throw MongoURIError("no host: mongodb://host:port") }
        hosts = try rest.split(separator: ",", omittingEmptySubsequences: false).map(Self.host)
        authSource = database ?? "admin"
        tls = false
        tlsInsecure = false
        connectTimeoutMS = 10_000
        var serverSelection: Int?
        for pair in options.split(whereSeparator: { $0 == "&" || $0 == ";" }) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = parts[0].lowercased()  // option names are case-insensitive
            let name = String(parts[0])  // as written, for error messages
            let value = parts.count == 2 ? try Self.decode(parts[1], "option \(parts[0])") : ""
            switch key {
            case "tls", "ssl": tls = try Self.bool(value, name)
            case "tlscafile", "sslcafile": tlsCAFile = Self.resolve(value, against: baseDirectory)
            case "tlsinsecure", "tlsallowinvalidcertificates", "sslallowinvalidcertificates": tlsInsecure = try Self.bool(value, name)
            case "authsource": authSource = value
            case "authmechanism":
                guard value == "SCRAM-SHA-256" else {
                    throw MongoURIError("authMechanism \(value) is not supported; the host authenticates with SCRAM-SHA-256")
                }
            case "connecttimeoutms": connectTimeoutMS = try Self.milliseconds(value, name)
            case "serverselectiontimeoutms": serverSelection = try Self.milliseconds(value, name)
            default: continue
            }
        }
        // The client has no server selection of its own: it waits at most this long for a connection.
        if let serverSelection { connectTimeoutMS = Swift.min(connectTimeoutMS, serverSelection) }
        if password != nil, username == nil { throw MongoURIError("a password needs a user name") }
        if tlsCAFile != nil || tlsInsecure { tls = true }
    }

    /// The URI with its password replaced, for logs.
    package var description: String {
        let user = username.map { "\($0)\(password == nil ? "" : ":***")@" } ?? ""
        return "mongodb://\(user)\(hosts.map { "\($0.host):\($0.port)" }.joined(separator: ","))/?tls=\(tls)&authSource=\(authSource)"
    }

    private static func host(_ text: Substring) throws(MongoURIError) -> Host {
        guard !text.isEmpty else { throw MongoURIError("an empty host in the host list") }
        if text.firstRange(of: "%2F") != nil || text.firstRange(of: "%2f") != nil || text.hasSuffix(".sock") {
            throw MongoURIError("Unix domain sockets are not supported; give host:port")
        }
        var name = text
        var port: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw MongoURIError("an IPv6 host needs a closing ]") }
            name = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if after.hasPrefix(":") { port = after.dropFirst() } else if !after.isEmpty { throw MongoURIError("garbage after the IPv6 host \(text)") }
        } else if let colon = text.lastIndex(of: ":") {
            name = text[..<colon]
            port = text[text.index(after: colon)...]
        }
        guard !name.isEmpty else { throw MongoURIError("a host without a name: \(text)") }
        var number = 27017
        if let port {
            guard let value = Int(port), (1...65_535).contains(value) else { throw MongoURIError("port \(port) is not 1…65535") }
            number = value
        }
        return Host(host: String(name), port: number)
    }

    private static func decode(_ text: Substring, _ what: String) throws(MongoURIError) -> String {
        guard let decoded = percentDecoded(text) else { throw MongoURIError("\(what) has a bad %-escape") }
        return decoded
    }

    private static func bool(_ value: String, _ key: String) throws(MongoURIError) -> Bool {
        switch value.lowercased() {
        case "true": return true
        case "false": return false
        default: throw MongoURIError("\(key) must be true or false, not \(value)")
        }
    }

    private static func milliseconds(_ value: String, _ key: String) throws(MongoURIError) -> Int {
        guard let number = Int(value), number > 0 else { throw MongoURIError("\(key) must be a positive number of milliseconds, not \(value)") }
        return number
    }

    static func resolve(_ path: String, against base: String) -> String {
        path.hasPrefix("/") ? path : URL(fileURLWithPath: base).appendingPathComponent(path).standardizedFileURL.path
    }
}

package struct MongoURIError: Error, CustomStringConvertible, Sendable, Equatable {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}

/// The data manager's `mongo_capture_config`: besides writing capture files, the host inserts
/// each tabular reading into this MongoDB collection (Viam's defaults: `sensorData.readings`).
package struct MongoCaptureConfig: Sendable, Equatable {
    package var uri: MongoURI
    package var database = "sensorData"
    package var collection = "readings"

    package init(uri: MongoURI, database: String = "sensorData", collection: String = "readings") {
        self.uri = uri
        self.database = database
        self.collection = collection
    }

    /// Nil when the uri is missing or empty (Viam captures to MongoDB only for a non-empty uri).
    static func parse(_ object: BSONDocument, at path: String, walker: JSONWalker, baseDirectory: String) -> MongoCaptureConfig? {
        walker.onlyKnownKeys(object, ["uri", "database", "collection"], at: path)
        let database = walker.string(object, "database", at: path)
        let collection = walker.string(object, "collection", at: path)
        for (key, value) in [("database", database), ("collection", collection)] {
            if let value, value.isEmpty || value.contains(Character("$")) || value.utf8.contains(0) || (key == "database" && value.contains(Character("."))) {
                walker.fault("\(path).\(key)", "\"\(value)\" is not a valid MongoDB \(key) name")
            }
        }
        guard let text = walker.string(object, "uri", at: path), !text.isEmpty else { return nil }
        do {
            var config = MongoCaptureConfig(uri: try MongoURI(text, baseDirectory: baseDirectory))
            if let database, !database.isEmpty { config.database = database }
            if let collection, !collection.isEmpty { config.collection = collection }
            return config
        } catch {
            walker.fault("\(path).uri", "\(error)")
            return nil
        }
    }
}
