import FerryBSON
import FerryMongoWire
import FerryStore

extension MongoCommands {
    /// saslStart with SCRAM-SHA-256 for `db-user-<organisation>` on `admin`. Every failure is the
    /// same AuthenticationFailed, so a client cannot tell an unknown user from a wrong password.
    func saslStart(_ command: BSONDocument, database: String, session: inout MongoSession) async throws -> BSONDocument {
        let arguments = CommandArguments(command)
        let mechanism = try arguments.string("mechanism") ?? ""
        guard mechanism == SCRAMSHA256.mechanism else { throw MongoCommandError.mechanismUnavailable(mechanism) }
        guard session.conversations.count < 8 else {
            throw MongoCommandError.badValue("too many authentication conversations in progress on this connection")
        }
        var scram: SCRAMServerConversation
        do {
            scram = try SCRAMServerConversation(clientFirst: try payload(command))
        } catch {
            logger.info("MongoDB client-first refused: \(error)", metadata: ["client": "\(session.clientAddress)"])
            throw MongoCommandError.authenticationFailed
        }
        var user: MongoSession.User?
        var verifier = decoyVerifier(for: scram.username)
        if database == "admin", let organizationID = DatabaseUserPolicy.organizationID(userName: scram.username),
            let stored = try await store.databaseUser(organizationID: organizationID)
        {
            user = MongoSession.User(organizationID: organizationID, userName: scram.username, mayInsert: stored.mayInsert)
            verifier = SCRAMSHA256.Verifier(
                salt: stored.credential.salt, iterations: stored.credential.iterations, storedKey: stored.credential.storedKey,
                serverKey: stored.credential.serverKey)
        }
        let serverFirst = scram.serverFirst(verifier: verifier)
        let skip: Bool = if case .document(let options)? = command["options"] { options["skipEmptyExchange"] == .bool(true) } else { false }
        let id = session.nextConversationID
        session.nextConversationID &+= 1
        session.conversations[id] = MongoSession.Conversation(scram: scram, user: user, skipEmptyExchange: skip)
        return ["conversationId": .int32(id), "done": false, "payload": .binary(BSONBinary(data: serverFirst)), "ok": 1.0]
    }

    func saslContinue(_ command: BSONDocument, session: inout MongoSession) throws -> BSONDocument {
        let arguments = CommandArguments(command)
        guard let raw = try arguments.integer("conversationId"), let id = Int32(exactly: raw),
            var conversation = session.conversations[id]
        else { throw MongoCommandError.authenticationFailed }
        session.conversations[id] = nil
        if conversation.awaitingEmptyExchange {
            guard let user = conversation.user else { throw MongoCommandError.authenticationFailed }
            session.user = user
            return ["conversationId": .int32(id), "done": true, "payload": .binary(BSONBinary(data: [])), "ok": 1.0]
        }
        let serverFinal: [UInt8]
        do {
            serverFinal = try conversation.scram.finish(clientFinal: try payload(command))
        } catch {
            logger.info(
                "MongoDB authentication of \(conversation.scram.username) refused: \(error)", metadata: ["client": "\(session.clientAddress)"])
            throw MongoCommandError.authenticationFailed
        }
        guard let user = conversation.user else { throw MongoCommandError.authenticationFailed }
        if conversation.skipEmptyExchange {
            session.user = user
            logger.info("MongoDB user authenticated", metadata: ["user": "\(user.userName)", "client": "\(session.clientAddress)"])
            return ["conversationId": .int32(id), "done": true, "payload": .binary(BSONBinary(data: serverFinal)), "ok": 1.0]
        }
        conversation.awaitingEmptyExchange = true
        session.conversations[id] = conversation
        return ["conversationId": .int32(id), "done": false, "payload": .binary(BSONBinary(data: serverFinal)), "ok": 1.0]
    }

    /// The SASL payload: binary, as drivers send it (a string is accepted too).
    private func payload(_ command: BSONDocument) throws(MongoCommandError) -> [UInt8] {
        switch command["payload"] {
        case .binary(let binary)?: return binary.data
        case .string(let text)?: return Array(text.utf8)
        default: throw MongoCommandError.authenticationFailed
        }
    }

    /// A verifier for a user that does not exist: stable per name (a second attempt sees the same
    /// salt, as for a real user) and matching no password.
    func decoyVerifier(for userName: String) -> SCRAMSHA256.Verifier {
        let digest = SCRAMSHA256.hmacForDecoy(decoySecret, userName)
        return SCRAMSHA256.Verifier(
            salt: Array(digest.prefix(16)), iterations: SCRAMSHA256.defaultIterations, storedKey: Array(digest),
            serverKey: Array(digest.reversed()))
    }
}
