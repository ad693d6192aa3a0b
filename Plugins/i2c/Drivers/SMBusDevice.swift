#if canImport(Glibc)
    import Glibc
#endif

import CFerryLinux
import FerryBSON
import FerryDevice
import FerrySDK

/// One device on an I2C bus, spoken to with SMBus transfers. It issues the same ioctls libi2c's
/// `i2c_smbus_*` functions issue (`I2C_SLAVE` once, then `I2C_SMBUS` with `i2c_smbus_ioctl_data`),
/// but through the FerryDevice seam, so tests fake the bus in process and umockdev scripts it.
public final class SMBusDevice {
    public let bus: String
    public let address: UInt8
    private let file: DeviceFile

    /// Opens the bus and selects the address. Errors name the bus and the address.
    public init(io: any DeviceIO, bus: String, address: UInt8) throws {
        let detail = "address 0x\(String(address, radix: 16, uppercase: false))"
        file = try deviceCall { try DeviceFile(io: io, path: bus, flags: O_RDWR, detail: detail) }
        (self.bus, self.address) = (bus, address)
        do {
            try deviceCall { try file.ioctl(UInt(ferry_i2c_slave()), name: "ioctl I2C_SLAVE", arg: UnsafeMutableRawPointer(bitPattern: UInt(address))) }
        } catch {
            file.close()
            throw error
        }
    }

    public func close() { file.close() }

    public func readByte(_ register: UInt8) throws -> UInt8 {
        var data = i2c_smbus_data()
        try transfer(read: true, register, size: I2C_SMBUS_BYTE_DATA, &data, name: "I2C_SMBUS read byte")
        return data.byte
    }

    /// An SMBus word: the first byte on the wire is the low byte.
    public func readWord(_ register: UInt8) throws -> UInt16 {
        var data = i2c_smbus_data()
        try transfer(read: true, register, size: I2C_SMBUS_WORD_DATA, &data, name: "I2C_SMBUS read word")
        return data.word
    }

    /// `count` (1…32) consecutive bytes from `register` on (the device auto-increments).
    public func readBlock(_ register: UInt8, count: Int) throws -> [UInt8] {
        precondition((1...Int(I2C_SMBUS_BLOCK_MAX)).contains(count), "SMBus block reads carry 1…32 bytes")
        var data = i2c_smbus_data()
        withUnsafeMutableBytes(of: &data.block) { $0[0] = UInt8(count) }
        try transfer(read: true, register, size: I2C_SMBUS_I2C_BLOCK_DATA, &data, name: "I2C_SMBUS read block")
        return withUnsafeBytes(of: &data.block) { bytes in
            let received = min(Int(bytes[0]), count)
            guard received == count else { return Array(bytes[1..<(1 + received)]) }
            return Array(bytes[1...count])
        }
    }

    public func writeByte(_ register: UInt8, _ value: UInt8) throws {
        var data = i2c_smbus_data()
        data.byte = value
        try transfer(read: false, register, size: I2C_SMBUS_BYTE_DATA, &data, name: "I2C_SMBUS write byte")
    }

    /// An SMBus word: `value`'s low byte goes first on the wire.
    public func writeWord(_ register: UInt8, _ value: UInt16) throws {
        var data = i2c_smbus_data()
        data.word = value
        try transfer(read: false, register, size: I2C_SMBUS_WORD_DATA, &data, name: "I2C_SMBUS write word")
    }

    private func transfer(read: Bool, _ register: UInt8, size: Int32, _ data: inout i2c_smbus_data, name: String) throws {
        try withUnsafeMutablePointer(to: &data) { pointer in
            var request = i2c_smbus_ioctl_data(
                read_write: UInt8(read ? I2C_SMBUS_READ : I2C_SMBUS_WRITE), command: register, size: UInt32(size),
                data: pointer)
            try deviceCall { try file.ioctl(UInt(ferry_i2c_smbus()), name: "ioctl \(name) register 0x\(String(register, radix: 16))", value: &request) }
        }
    }
}

/// The `i2c_bus` and `i2c_addr` attributes every I2C model takes.
public struct I2CAddress: Sendable, Equatable {
    public var bus: String
    public var address: UInt8

    public init(bus: String, address: UInt8) { (self.bus, self.address) = (bus, address) }

    public init(attributes: BSONDocument, defaultAddress: UInt8? = nil) throws {
        bus = try attributes.string("i2c_bus")
        guard bus.hasPrefix("/") else {
            throw PluginError.invalidArgument("attribute i2c_bus must be a device path such as /dev/i2c-1, got \"\(bus)\"")
        }
        let value = try attributes.int("i2c_addr", default: defaultAddress.map(Int.init))
        guard (0x03...0x77).contains(value) else {
            throw PluginError.invalidArgument("attribute i2c_addr must be a 7-bit address 3…119 (0x03…0x77), got \(value)")
        }
        address = UInt8(value)
    }

    public func open(_ io: any DeviceIO) throws -> SMBusDevice { try SMBusDevice(io: io, bus: bus, address: address) }
}
