import FerryBSON
import FerryMQL
import FerryMongoWire
import FerryStore
import Foundation
import Logging

/// Answers commands for every connection of one server: the handshake, authentication, queries
/// and cursors. A command's failure is a MongoDB error reply; nothing a client sends can crash it.
struct MongoCommands: Sendable {
    let store: any DataStore
    let operators: MQLOperatorRegistry
    let cursors: CursorRegistry
    let logger: Logger
    /// Per-process secret that makes the decoy verifier for an unknown user stable but unguessable.
    let decoySecret: [UInt8]

    /// MongoDB 6.0's wire version: pymongo 4.x needs at least 9 (MongoDB 4.4).
    static let maxWireVersion: Int32 = 17
    static let serverVersion = "6.0.0"

    /// Commands a client may send before it authenticates (the handshake and authentication itself).
    static let openCommands: Set<String> = [
        "hello", "isMaster", "ismaster", "buildInfo", "buildinfo", "ping", "saslStart", "saslContinue", "getParameter",
        "connectionStatus", "endSessions", "whatsmyuri", "logout",
    ]

    /// Commands that change data or the server. All are refused with Unauthorized, except
    /// `insert` into `readings` by a user allowed to insert.
    static let writeCommands: Set<String> = [
        "insert", "update", "delete", "findAndModify", "findandmodify", "create", "drop", "dropDatabase", "createIndexes",
        "dropIndexes", "renameCollection", "collMod", "createUser", "updateUser", "dropUser", "dropAllUsersFromDatabase",
        "grantRolesToUser", "revokeRolesFromUser", "createRole", "updateRole", "dropRole", "bulkWrite", "mapReduce",
        "applyOps", "convertToCapped", "cloneCollectionAsCapped", "compact", "reIndex", "shutdown",
    ]

    /// Runs one command from database `database`; always returns a reply (an error reply on failure).
    func handle(_ command: BSONDocument, database: String, session: inout MongoSession) async -> CommandReply {
        let name = command.keys.first ?? ""
        do {
            return try await dispatch(name, command, database: database, session: &session)
        } catch let error as MongoCommandError {
            if error.code == MongoCommandError.authenticationFailed.code {
                logger.info("MongoDB authentication failed", metadata: ["client": "\(session.clientAddress)"])
            }
            return .document(error.reply)
        } catch let error as MQLError {
            return .document(MongoCommands.mqlError(error).reply)
        } catch let error as StoreError {
            return .document(MongoCommands.storeError(error).reply)
        } catch {
            logger.error("MongoDB command \(name) failed: \(error)")
            return .document(MongoCommandError.internalError("\(name) failed: \(error)").reply)
        }
    }

    private func dispatch(_ name: String, _ command: BSONDocument, database: String, session: inout MongoSession) async throws
        -> CommandReply
    {
        if !Self.openCommands.contains(name), session.user == nil {
            guard !name.isEmpty else { throw MongoCommandError.commandNotFound(name) }
            throw MongoCommandError.unauthorized("command \(name) requires authentication")
        }
        switch name {
        case "hello", "isMaster", "ismaster": return .document(try await hello(command, legacy: name != "hello", session: &session))
        case "buildInfo", "buildinfo": return .document(buildInfo())
        case "ping", "endSessions": return .document(["ok": 1.0])
        case "getParameter": return .document(try getParameter(command))
        case "connectionStatus": return .document(connectionStatus(session))
        case "whatsmyuri": return .document(["you": .string(session.clientAddress), "ok": 1.0])
        case "logout":
            session.user = nil
            return .document(["ok": 1.0])
        case "saslStart": return .document(try await saslStart(command, database: database, session: &session))
        case "saslContinue": return .document(try saslContinue(command, session: &session))
        case "listDatabases": return .document(try listDatabases(command, database: database))
        case "listCollections": return try await listCollections(command, database: database, session: session)
        case "listIndexes": return try await listIndexes(command, database: database, session: session)
        case "find": return try await find(command, database: database, session: session)
        case "aggregate": return try await aggregate(command, database: database, session: session)
        case "getMore": return try await getMore(command, database: database, session: session)
        case "killCursors": return .document(try await killCursors(command, database: database, session: session))
        case "count": return .document(try await count(command, database: database, session: session))
        case "distinct": return .document(try await distinct(command, database: database, session: session))
        case "insert": return .document(try await insert(command, database: database, session: session))
        default:
            if Self.writeCommands.contains(name) { throw Self.writeRefused(name, database: database) }
            throw MongoCommandError.commandNotFound(name)
        }
    }

    static func writeRefused(_ name: String, database: String) -> MongoCommandError {
        .unauthorized(
            "not authorized on \(database) to execute command \(name): Ferry's MongoDB endpoint is read-only; only `insert` into \(Namespace.database).\(Namespace.readings), by a database user allowed to insert (`ferry data database configure --allow-insert`), writes")
    }

    /// An MQL failure as MongoDB's BadValue (or its memory-limit error), naming stage and operator.
    static func mqlError(_ error: MQLError) -> MongoCommandError {
        if error.message.contains("memory limit") { return .exceededMemoryLimit(error.description) }
        return .badValue(error.description)
    }

    static func storeError(_ error: StoreError) -> MongoCommandError {
        switch error.kind {
        case .invalidArgument, .sqlFailed: .badValue(error.message)
        case .notFound: .namespaceNotFound(error.message)
        case .alreadyExists: MongoCommandError(code: 11000, codeName: "DuplicateKey", error.message)
        case .sqlRefused: .unauthorized(error.message)
        case .resourceExhausted: .exceededMemoryLimit(error.message)
        case .storage: MongoCommandError(code: 6, codeName: "HostUnreachable", error.message)
        }
    }
}
