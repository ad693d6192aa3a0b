/// The fuzz target's body: everything the server does with a peer's bytes before a command runs.
/// Splits `data` into frames by their length prefixes (as the connection's decoder does), parses
/// each, and checks that what parses re-encodes stably; then feeds the bytes to the SCRAM parser.
/// Any input must end normally: a trap here is a bug a peer could use to crash the server.
public enum MongoWireFuzz {
    public static func run(_ data: [UInt8]) {
        var offset = 0
        while data.count - offset >= 4 {
            guard let length = try? MongoMessageHeader.declaredLength(data[offset..<offset + 4]), data.count - offset >= length else {
                break
            }
            let frame = Array(data[offset..<offset + length])
            offset += length
            guard let parsed = try? MongoFrame.parse(frame) else { continue }
            guard let encoded = try? MongoFrame.encode(parsed.message, requestID: 1, responseTo: 0) else {
                preconditionFailure("a parsed message could not be encoded again")
            }
            guard let again = try? MongoFrame.parse(encoded),
                let reencoded = try? MongoFrame.encode(again.message, requestID: 1, responseTo: 0), reencoded == encoded
            else { preconditionFailure("a parsed message does not survive encoding and parsing") }
        }
        if var conversation = try? SCRAMServerConversation(clientFirst: data) {
            let verifier = SCRAMSHA256.Verifier(
                salt: Array(repeating: 1, count: 16), iterations: SCRAMSHA256.minimumIterations, storedKey: Array(repeating: 2, count: 32),
                serverKey: Array(repeating: 3, count: 32))
            _ = conversation.serverFirst(verifier: verifier, serverNonce: "fuzz")
            _ = try? conversation.finish(clientFinal: data)
        }
    }
}
