#if canImport(Glibc)
    import Glibc
#endif

/// The real system calls. Stateless, so one shared value serves every driver.
public struct SystemDeviceIO: DeviceIO {
    public init() {}

    public func open(_ path: String, flags: Int32) throws -> Int32 {
        let fd = retryingEINTR { Glibc.open(path, flags | O_CLOEXEC) }
        guard fd >= 0 else { throw DeviceError(errno: Glibc.errno, operation: "open", path: path) }
        return fd
    }

    public func close(_ fd: Int32) { _ = Glibc.close(fd) }

    public func ioctl(_ fd: Int32, request: UInt, arg: UnsafeMutableRawPointer?) throws -> Int32 {
        let result = retryingEINTR { arg.map { Glibc.ioctl(fd, request, $0) } ?? Glibc.ioctl(fd, request) }
        guard result >= 0 else {
            throw DeviceError(errno: Glibc.errno, operation: "ioctl 0x\(String(request, radix: 16))")
        }
        return result
    }

    public func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = retryingEINTR { Glibc.read(fd, buffer.baseAddress, buffer.count) }
        guard count >= 0 else { throw DeviceError(errno: Glibc.errno, operation: "read") }
        return count
    }

    public func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer) throws -> Int {
        let count = retryingEINTR { Glibc.write(fd, buffer.baseAddress, buffer.count) }
        guard count >= 0 else { throw DeviceError(errno: Glibc.errno, operation: "write") }
        return count
    }

    public func mmap(_ fd: Int32, length: Int, offset: Int) throws -> UnsafeMutableRawPointer {
        let pointer = Glibc.mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off_t(offset))
        guard let pointer, pointer != MAP_FAILED else { throw DeviceError(errno: Glibc.errno, operation: "mmap") }
        return pointer
    }

    public func munmap(_ pointer: UnsafeMutableRawPointer, length: Int) { _ = Glibc.munmap(pointer, length) }

    public func poll(_ fd: Int32, events: Int16, timeoutMilliseconds: Int32) throws -> Int16 {
        var entry = pollfd(fd: fd, events: events, revents: 0)
        let ready = retryingEINTR { Glibc.poll(&entry, 1, timeoutMilliseconds) }
        guard ready >= 0 else { throw DeviceError(errno: Glibc.errno, operation: "poll") }
        return ready == 0 ? 0 : entry.revents
    }

    private func retryingEINTR<T: BinaryInteger>(_ call: () -> T) -> T {
        while true {
            let result = call()
            if result >= 0 || Glibc.errno != EINTR { return result }
        }
    }
}
