import CFerryLinux
import FerryDevice
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A device on the fake bus: answers register reads and takes register writes.
protocol FakeI2CDevice: AnyObject {
    func read(register: UInt8, count: Int) throws -> [UInt8]
    func write(register: UInt8, bytes: [UInt8])
}

/// A byte-wide register file with auto-increment, as most sensors (TMP102, BME280) behave.
class RegisterFile: FakeI2CDevice {
    var registers: [UInt8: UInt8]
    var writes: [(UInt8, [UInt8])] = []
    init(_ registers: [UInt8: UInt8] = [:]) { self.registers = registers }
    func read(register: UInt8, count: Int) -> [UInt8] {
        (0..<count).map { registers[register &+ UInt8($0)] ?? 0 }
    }
    func write(register: UInt8, bytes: [UInt8]) {
        writes.append((register, bytes))
        for (i, byte) in bytes.enumerated() { registers[register &+ UInt8(i)] = byte }
    }
}

/// 16-bit registers selected by a pointer byte and sent most significant byte first, as the
/// TMP102 and ADS1115 do (a byte-wide file with auto-increment would read the wrong bytes).
final class WordRegisters: FakeI2CDevice {
    var registers: [UInt8: UInt16]
    init(_ registers: [UInt8: UInt16]) { self.registers = registers }
    func read(register: UInt8, count: Int) -> [UInt8] {
        let word = registers[register] ?? 0
        return Array([UInt8(word >> 8), UInt8(word & 0xFF)].prefix(count))
    }
    func write(register: UInt8, bytes: [UInt8]) {
        guard bytes.count == 2 else { return }
        registers[register] = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
    }
}

/// An in-process `/dev/i2c-N`: decodes the I2C_SLAVE and I2C_SMBUS ioctls exactly as the kernel's
/// i2c-dev receives them and routes each transfer to the device at the selected address. No device
/// at the address answers EREMOTEIO, as a real NACK does.
final class FakeI2CBus: DeviceIO, @unchecked Sendable {
    // Every field is guarded by `lock`; the drivers under test call from one thread anyway.
    private let lock = Mutex(())
    let path: String
    private var devices: [UInt8: FakeI2CDevice]
    private var selected: [Int32: UInt8] = [:]
    private var nextFD: Int32 = 10
    /// Injected failure: the next `failures.count` transfers fail with these errnos.
    var failures: [Int32] = []
    private(set) var openCount = 0, closeCount = 0

    init(path: String = "/dev/i2c-1", devices: [UInt8: FakeI2CDevice]) {
        (self.path, self.devices) = (path, devices)
    }

    func open(_ path: String, flags: Int32) throws -> Int32 {
        try lock.withLock { _ in
            guard path == self.path else { throw DeviceError(errno: ENOENT, operation: "open") }
            nextFD += 1
            openCount += 1
            return nextFD
        }
    }

    func close(_ fd: Int32) { lock.withLock { _ in closeCount += 1 } }

    func ioctl(_ fd: Int32, request: UInt, arg: UnsafeMutableRawPointer?) throws -> Int32 {
        try lock.withLock { _ in
            switch request {
            case UInt(ferry_i2c_slave()):
                selected[fd] = UInt8(UInt(bitPattern: arg))
                return 0
            case UInt(ferry_i2c_smbus()):
                if !failures.isEmpty { throw DeviceError(errno: failures.removeFirst(), operation: "ioctl") }
                guard let address = selected[fd], let device = devices[address] else {
                    throw DeviceError(errno: EREMOTEIO, operation: "ioctl")
                }
                let request = arg!.load(as: i2c_smbus_ioctl_data.self)
                let data = UnsafeMutableRawPointer(request.data!)
                let count: Int
                switch Int32(request.size) {
                case I2C_SMBUS_BYTE_DATA: count = 1
                case I2C_SMBUS_WORD_DATA: count = 2
                case I2C_SMBUS_I2C_BLOCK_DATA: count = Int(data.load(as: UInt8.self))
                default: throw DeviceError(errno: EINVAL, operation: "ioctl")
                }
                let offset = Int32(request.size) == I2C_SMBUS_I2C_BLOCK_DATA ? 1 : 0
                if Int32(request.read_write) == I2C_SMBUS_READ {
                    let bytes = try device.read(register: request.command, count: count)
                    for (i, byte) in bytes.enumerated() { data.storeBytes(of: byte, toByteOffset: offset + i, as: UInt8.self) }
                } else {
                    let bytes = (0..<count).map { data.load(fromByteOffset: offset + $0, as: UInt8.self) }
                    device.write(register: request.command, bytes: bytes)
                }
                return 0
            default:
                throw DeviceError(errno: ENOTTY, operation: "ioctl")
            }
        }
    }

    func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws -> Int { throw DeviceError(errno: EINVAL, operation: "read") }
    func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer) throws -> Int { throw DeviceError(errno: EINVAL, operation: "write") }
    func mmap(_ fd: Int32, length: Int, offset: Int) throws -> UnsafeMutableRawPointer { throw DeviceError(errno: ENODEV, operation: "mmap") }
    func munmap(_ pointer: UnsafeMutableRawPointer, length: Int) {}
    func poll(_ fd: Int32, events: Int16, timeoutMilliseconds: Int32) throws -> Int16 { events }
}
