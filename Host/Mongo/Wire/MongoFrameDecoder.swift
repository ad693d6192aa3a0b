import NIOCore

/// Splits a connection's byte stream (server or client side) into whole messages by their length
/// prefix. A length outside 16 bytes…48 MB is an error, which closes the connection.
public struct MongoFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    public init() {}

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let prefix = buffer.getBytes(at: buffer.readerIndex, length: 4) else { return .needMoreData }
        let length = try MongoMessageHeader.declaredLength(prefix)
        guard let frame = buffer.readSlice(length: length) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData  // a partial message at EOF is dropped with the connection
    }
}
