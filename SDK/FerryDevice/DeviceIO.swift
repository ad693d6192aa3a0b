#if canImport(Glibc)
    import Glibc
#endif

/// The one seam between a driver and the kernel. Every driver reaches its device only through
/// these calls, so a unit test hands it an in-process fake that scripts the device's answers
/// (fakes live in the test targets), and CI runs the same driver against umockdev's scripted
/// device nodes through ``SystemDeviceIO``.
///
/// Every throwing call throws ``DeviceError``, which carries the errno, the operation and — when
/// the caller knows it — the device path. Use ``DeviceFile`` to have the path attached for you.
public protocol DeviceIO: Sendable {
    /// `open(2)`; `flags` are `O_RDWR`, `O_NONBLOCK`… Returns the file descriptor.
    func open(_ path: String, flags: Int32) throws -> Int32
    func close(_ fd: Int32)
    /// `ioctl(2)` with a pointer argument (or nil for ioctls that take an integer 0).
    /// Returns the ioctl's non-negative result.
    func ioctl(_ fd: Int32, request: UInt, arg: UnsafeMutableRawPointer?) throws -> Int32
    /// `read(2)`: the number of bytes read, 0 at end of file.
    func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// `write(2)`: the number of bytes written.
    func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer) throws -> Int
    /// `mmap(2)` shared, read-write, of `length` bytes at `offset` (V4L2 streaming buffers).
    func mmap(_ fd: Int32, length: Int, offset: Int) throws -> UnsafeMutableRawPointer
    func munmap(_ pointer: UnsafeMutableRawPointer, length: Int)
    /// `poll(2)` on one descriptor; returns `revents` (0 on timeout).
    func poll(_ fd: Int32, events: Int16, timeoutMilliseconds: Int32) throws -> Int16
}

extension DeviceIO {
    /// An ioctl whose argument is a value of type `T` (a C struct), passed by address.
    @discardableResult
    public func ioctl<T>(_ fd: Int32, request: UInt, value: inout T) throws -> Int32 {
        try withUnsafeMutableBytes(of: &value) { try ioctl(fd, request: request, arg: $0.baseAddress) }
    }
}
