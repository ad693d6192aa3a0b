import CFerryLinux
import FerryDevice
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// An in-process kernel for the GPIO plugin's drivers: GPIO chips spoken to through the v2
/// character-device ioctls, sysfs-style text files, and (delegated) an I2C bus. Descriptors from
/// 1000 up are this fake's; lower ones belong to the I2C bus.
final class FakeKernel: DeviceIO, @unchecked Sendable {
    // Every mutable field is guarded by `lock`.
    private let lock = Mutex(())

    final class Chip {
        var levels: [UInt32: Bool] = [:]
        /// (offsets, flags, consumer) of every line request made.
        var requests: [(offsets: [UInt32], flags: UInt64, consumer: String)] = []
        var busy: Set<UInt32> = []
    }

    struct LineRequest {
        var chip: String
        var offsets: [UInt32]
        var events: [gpio_v2_line_event] = []
    }

    enum Open {
        case chip(String)
        case lines(LineRequest)
        case file(String)
    }

    var chips: [String: Chip] = [:]
    var files: [String: String] = [:]
    /// Files whose write creates others (sysfs PWM `export` creates `pwmN/…`).
    var onWrite: [String: (String, FakeKernel) -> Void] = [:]
    let i2c: FakeI2CBus?
    private var open: [Int32: Open] = [:]
    private var nextFD: Int32 = 1000
    private(set) var closed: [Int32] = []

    init(chips: [String: Chip] = [:], files: [String: String] = [:], i2c: FakeI2CBus? = nil) {
        (self.chips, self.files, self.i2c) = (chips, files, i2c)
    }

    func setFile(_ path: String, _ contents: String) { lock.withLock { _ in files[path] = contents } }
    func file(_ path: String) -> String? { lock.withLock { _ in files[path] } }

    var openDescriptors: Int { lock.withLock { _ in open.count } }

    /// Queues an edge on a requested line, as the kernel does when the pin changes.
    func edge(chip: String, line: UInt32, rising: Bool) {
        lock.withLock { _ in
            chips[chip]!.levels[line] = rising
            for (fd, entry) in open {
                guard case .lines(var request) = entry, request.chip == chip, request.offsets.contains(line) else { continue }
                var event = gpio_v2_line_event()
                event.offset = line
                event.id = rising ? GPIO_V2_LINE_EVENT_RISING_EDGE.rawValue : GPIO_V2_LINE_EVENT_FALLING_EDGE.rawValue
                request.events.append(event)
                open[fd] = .lines(request)
            }
        }
    }

    func open(_ path: String, flags: Int32) throws -> Int32 {
        if let i2c, path == i2c.path { return try i2c.open(path, flags: flags) }
        return try lock.withLock { _ in
            let entry: Open
            if chips[path] != nil {
                entry = .chip(path)
            } else if files[path] != nil {
                entry = .file(path)
            } else {
                throw DeviceError(errno: ENOENT, operation: "open")
            }
            nextFD += 1
            open[nextFD] = entry
            return nextFD
        }
    }

    func close(_ fd: Int32) {
        if fd < 1000 { i2c?.close(fd); return }
        lock.withLock { _ in
            open[fd] = nil
            closed.append(fd)
        }
    }

    func ioctl(_ fd: Int32, request: UInt, arg: UnsafeMutableRawPointer?) throws -> Int32 {
        if fd < 1000, let i2c { return try i2c.ioctl(fd, request: request, arg: arg) }
        return try lock.withLock { _ in
            switch (open[fd], request) {
            case (.chip(let path)?, UInt(ferry_gpio_v2_get_line_ioctl())):
                var lineRequest = arg!.load(as: gpio_v2_line_request.self)
                let offsets = withUnsafeBytes(of: &lineRequest.offsets) { raw in
                    (0..<Int(lineRequest.num_lines)).map { raw.load(fromByteOffset: $0 * 4, as: UInt32.self) }
                }
                let consumer = withUnsafeBytes(of: &lineRequest.consumer) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                let chip = chips[path]!
                if offsets.contains(where: chip.busy.contains) { throw DeviceError(errno: EBUSY, operation: "ioctl") }
                chip.requests.append((offsets, lineRequest.config.flags, consumer))
                nextFD += 1
                open[nextFD] = .lines(LineRequest(chip: path, offsets: offsets))
                arg!.storeBytes(of: nextFD, toByteOffset: MemoryLayout<gpio_v2_line_request>.offset(of: \.fd)!, as: Int32.self)
                return 0
            case (.lines(let lines)?, UInt(ferry_gpio_v2_line_get_values_ioctl())):
                var values = arg!.load(as: gpio_v2_line_values.self)
                values.bits = 0
                for (i, offset) in lines.offsets.enumerated() where values.mask & (1 << UInt64(i)) != 0 {
                    if chips[lines.chip]!.levels[offset] == true { values.bits |= 1 << UInt64(i) }
                }
                arg!.storeBytes(of: values, as: gpio_v2_line_values.self)
                return 0
            case (.lines(let lines)?, UInt(ferry_gpio_v2_line_set_values_ioctl())):
                let values = arg!.load(as: gpio_v2_line_values.self)
                for (i, offset) in lines.offsets.enumerated() where values.mask & (1 << UInt64(i)) != 0 {
                    chips[lines.chip]!.levels[offset] = values.bits & (1 << UInt64(i)) != 0
                }
                return 0
            default:
                throw DeviceError(errno: ENOTTY, operation: "ioctl")
            }
        }
    }

    func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try lock.withLock { _ in
            switch open[fd] {
            case .file(let path)?:
                let bytes = Array(files[path]!.utf8.prefix(buffer.count))
                buffer.copyBytes(from: bytes)
                return bytes.count
            case .lines(var lines)?:
                let size = MemoryLayout<gpio_v2_line_event>.stride
                let count = min(buffer.count / size, lines.events.count)
                for i in 0..<count { buffer.baseAddress!.storeBytes(of: lines.events[i], toByteOffset: i * size, as: gpio_v2_line_event.self) }
                lines.events.removeFirst(count)
                open[fd] = .lines(lines)
                return count * size
            default:
                throw DeviceError(errno: EINVAL, operation: "read")
            }
        }
    }

    func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer) throws -> Int {
        let (path, hook): (String, ((String, FakeKernel) -> Void)?) = try lock.withLock { _ in
            guard case .file(let path)? = open[fd] else { throw DeviceError(errno: EINVAL, operation: "write") }
            files[path] = String(decoding: buffer, as: UTF8.self)
            return (path, onWrite[path])
        }
        hook?(String(decoding: buffer, as: UTF8.self), self)
        _ = path
        return buffer.count
    }

    func mmap(_ fd: Int32, length: Int, offset: Int) throws -> UnsafeMutableRawPointer { throw DeviceError(errno: ENODEV, operation: "mmap") }
    func munmap(_ pointer: UnsafeMutableRawPointer, length: Int) {}

    func poll(_ fd: Int32, events: Int16, timeoutMilliseconds: Int32) throws -> Int16 {
        lock.withLock { _ in
            if case .lines(let lines)? = open[fd], !lines.events.isEmpty { return Int16(POLLIN) }
            return 0
        }
    }
}
