import CFerryV4L2

/// libjpeg-turbo, through the C shim that keeps its longjmp error handling out of Swift.
public enum JPEG {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Encodes a packed YUYV 4:2:2 frame as a JPEG (YCbCr stored as-is, no colour conversion).
    public static func encodeYUYV(
        _ frame: UnsafeRawBufferPointer, width: Int, height: Int, bytesPerLine: Int, quality: Int
    ) throws(Failure) -> [UInt8] {
        var output = ferry_jpeg_buffer(bytes: nil, length: 0)
        var error = [CChar](repeating: 0, count: 256)
        let status = error.withUnsafeMutableBufferPointer { message in
            ferry_jpeg_encode_yuyv(
                frame.bindMemory(to: UInt8.self).baseAddress, frame.count, UInt32(width), UInt32(height),
                UInt32(bytesPerLine), Int32(quality), &output, message.baseAddress, message.count)
        }
        guard status == 0, let bytes = output.bytes else { throw Failure(description: message(error)) }
        defer { ferry_jpeg_free(&output) }
        return Array(UnsafeBufferPointer(start: bytes, count: output.length))
    }

    private static func message(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
