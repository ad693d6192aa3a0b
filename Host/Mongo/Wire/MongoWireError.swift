/// A frame or message that does not follow MongoDB's wire protocol. The server answers none: it
/// logs the description and closes the connection, as mongod does.
public struct MongoWireError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    /// The byte offset in the message where the fault was found.
    public var offset: Int

    public init(_ message: String, at offset: Int) {
        self.message = message
        self.offset = offset
    }

    public var description: String { "\(message) (at byte \(offset))" }
}
