import FerryBSON
import FerryMongoWire
import Foundation

extension MongoCommands {
    /// hello / isMaster: a standalone, writable (inserts), with SCRAM-SHA-256 offered for any user.
    /// No `topologyVersion`, so drivers poll instead of holding a streaming hello open.
    func hello(_ command: BSONDocument, legacy: Bool, session: inout MongoSession) async throws -> BSONDocument {
        var reply: BSONDocument = [:]
        if command["helloOk"] != nil { reply.append("helloOk", true) }
        reply.append(legacy ? "ismaster" : "isWritablePrimary", true)
        reply.append("maxBsonObjectSize", .int32(16 * 1024 * 1024))
        reply.append("maxMessageSizeBytes", .int32(Int32(MongoMessageHeader.maximumMessageSize)))
        reply.append("maxWriteBatchSize", .int32(100_000))
        reply.append("localTime", .datetime(Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))))
        reply.append("logicalSessionTimeoutMinutes", .int32(30))
        reply.append("connectionId", .int32(session.connectionID))
        reply.append("minWireVersion", .int32(0))
        reply.append("maxWireVersion", .int32(Self.maxWireVersion))
        reply.append("readOnly", false)
        if command["saslSupportedMechs"]?.stringValue != nil {
            reply.append("saslSupportedMechs", [.string(SCRAMSHA256.mechanism)])
        }
        if case .document(let speculative)? = command["speculativeAuthenticate"] {
            // A failed speculative start is not an error: the field is left out and the driver
            // authenticates the ordinary way.
            let database = speculative["db"]?.stringValue ?? "admin"
            if let started = try? await saslStart(speculative, database: database, session: &session) {
                var answer = started
                answer["ok"] = nil
                reply.append("speculativeAuthenticate", .document(answer))
            }
        }
        reply.append("ok", 1.0)
        return reply
    }

    func buildInfo() -> BSONDocument {
        [
            "version": .string(Self.serverVersion), "gitVersion": "ferry", "versionArray": [6, 0, 0, 0], "bits": 64,
            "debug": false, "maxBsonObjectSize": .int32(16 * 1024 * 1024), "javascriptEngine": "none",
            "storageEngines": [], "modules": [], "ok": 1.0,
        ]
    }

    func getParameter(_ command: BSONDocument) throws(MongoCommandError) -> BSONDocument {
        let known: [(String, BSON)] = [
            ("featureCompatibilityVersion", ["version": "6.0"]),
            ("authenticationMechanisms", [.string(SCRAMSHA256.mechanism)]),
            ("cursorTimeoutMillis", .int64(Int64(cursors.idleTimeout.components.seconds * 1000))),
        ]
        let all = command["getParameter"]?.stringValue == "*"
        var reply = BSONDocument()
        for (name, value) in known where all || command[name] != nil { reply.append(name, value) }
        guard !reply.isEmpty else { throw .invalidOptions("no option found to get (Ferry has \(known.map(\.0).joined(separator: ", ")))") }
        reply.append("ok", 1.0)
        return reply
    }

    func connectionStatus(_ session: MongoSession) -> BSONDocument {
        var users: [BSON] = []
        var roles: [BSON] = []
        if let user = session.user {
            users.append(["user": .string(user.userName), "db": "admin"])
            roles.append(["role": "read", "db": .string(Namespace.database)])
            if user.mayInsert { roles.append(["role": "insertReadings", "db": .string(Namespace.database)]) }
        }
        return ["authInfo": ["authenticatedUsers": .array(users), "authenticatedUserRoles": .array(roles)], "ok": 1.0]
    }
}
