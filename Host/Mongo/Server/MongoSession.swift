import FerryBSON
import FerryMongoWire

/// One connection's state: who authenticated on it and SCRAM exchanges in progress. Owned by the
/// connection's task, which handles one request at a time, as MongoDB does.
struct MongoSession: Sendable {
    struct User: Sendable, Equatable {
        let organizationID: String
        let userName: String
        let mayInsert: Bool
    }

    struct Conversation: Sendable {
        var scram: SCRAMServerConversation
        /// Nil for an unknown user: the exchange runs with a decoy verifier and fails at the proof.
        var user: User?
        var skipEmptyExchange: Bool
        /// Proof checked, waiting for the client's empty last message.
        var awaitingEmptyExchange = false
    }

    let connectionID: Int32
    let clientAddress: String
    var user: User?
    var conversations: [Int32: Conversation] = [:]
    var nextConversationID: Int32 = 1

    init(connectionID: Int32, clientAddress: String) {
        self.connectionID = connectionID
        self.clientAddress = clientAddress
    }
}

/// What a command answers: a document, or BSON bytes built directly (cursor batches).
enum CommandReply: Sendable {
    case document(BSONDocument)
    case raw([UInt8])
}

