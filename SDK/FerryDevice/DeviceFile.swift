/// An open device node: its descriptor, its path and the seam it goes through. Every error it
/// throws names the path (and the driver's detail, e.g. the I2C address), so drivers need not.
/// Not thread-safe on its own: a driver instance is called from one thread at a time.
public struct DeviceFile: Sendable {
    public let io: any DeviceIO
    public let path: String
    public let fd: Int32
    /// Added to every error, e.g. "address 0x48".
    public var detail: String?

    public init(io: any DeviceIO, path: String, flags: Int32, detail: String? = nil) throws {
        do { fd = try io.open(path, flags: flags) } catch let error as DeviceError {
            throw error.at(path, detail: detail)
        }
        (self.io, self.path, self.detail) = (io, path, detail)
    }

    /// Wraps a descriptor something else opened (a GPIO line request's fd, say); `path` names it
    /// in errors.
    public init(io: any DeviceIO, path: String, fd: Int32, detail: String? = nil) {
        (self.io, self.path, self.fd, self.detail) = (io, path, fd, detail)
    }

    public func close() { io.close(fd) }

    @discardableResult
    public func ioctl(_ request: UInt, name: String, arg: UnsafeMutableRawPointer?) throws -> Int32 {
        try attach(name) { try io.ioctl(fd, request: request, arg: arg) }
    }

    @discardableResult
    public func ioctl<T>(_ request: UInt, name: String, value: inout T) throws -> Int32 {
        try withUnsafeMutableBytes(of: &value) { bytes in
            try attach(name) { try io.ioctl(fd, request: request, arg: bytes.baseAddress) }
        }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try attach("read") { try io.read(fd, into: buffer) }
    }

    public func write(from buffer: UnsafeRawBufferPointer) throws -> Int {
        try attach("write") { try io.write(fd, from: buffer) }
    }

    public func mmap(length: Int, offset: Int) throws -> UnsafeMutableRawPointer {
        try attach("mmap") { try io.mmap(fd, length: length, offset: offset) }
    }

    public func poll(events: Int16, timeoutMilliseconds: Int32) throws -> Int16 {
        try attach("poll") { try io.poll(fd, events: events, timeoutMilliseconds: timeoutMilliseconds) }
    }

    private func attach<T>(_ operation: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch var error as DeviceError {
            error.operation = operation
            throw error.at(path, detail: detail)
        }
    }
}
