#if canImport(Glibc)
    import Glibc
#endif

import CFerryLinux
import FerryDevice
import FerryI2CDrivers
import FerrySDK

/// A set of lines on one `/dev/gpiochipN`, requested once through the GPIO v2 character-device
/// uAPI (GPIO_V2_GET_LINE_IOCTL) and then read or written through the request's own descriptor.
/// The chip descriptor is closed as soon as the request exists, as the kernel allows.
public final class GPIOLines {
    public enum Direction: Sendable { case input, output, edges }

    public let chip: String
    public let offsets: [UInt32]
    private let request: DeviceFile

    public init(io: any DeviceIO, chip: String, offsets: [UInt32], direction: Direction, consumer: String = "ferry") throws {
        precondition(!offsets.isEmpty && offsets.count <= Int(GPIO_V2_LINES_MAX))
        let chipFile = try deviceCall { try DeviceFile(io: io, path: chip, flags: O_RDWR) }
        defer { chipFile.close() }
        var request = gpio_v2_line_request()
        withUnsafeMutableBytes(of: &request.offsets) { raw in
            for (i, offset) in offsets.enumerated() { raw.storeBytes(of: offset, toByteOffset: i * 4, as: UInt32.self) }
        }
        withUnsafeMutableBytes(of: &request.consumer) { raw in
            for (i, byte) in consumer.utf8.prefix(Int(GPIO_MAX_NAME_SIZE) - 1).enumerated() { raw[i] = byte }
        }
        request.num_lines = UInt32(offsets.count)
        switch direction {
        case .input: request.config.flags = UInt64(GPIO_V2_LINE_FLAG_INPUT.rawValue)
        case .output: request.config.flags = UInt64(GPIO_V2_LINE_FLAG_OUTPUT.rawValue)
        case .edges:
            request.config.flags = UInt64(
                GPIO_V2_LINE_FLAG_INPUT.rawValue | GPIO_V2_LINE_FLAG_EDGE_RISING.rawValue | GPIO_V2_LINE_FLAG_EDGE_FALLING.rawValue)
            request.event_buffer_size = 1024
        }
        let lines = offsets.map(String.init).joined(separator: ",")
        try deviceCall {
            try chipFile.ioctl(UInt(ferry_gpio_v2_get_line_ioctl()), name: "GPIO_V2_GET_LINE_IOCTL (lines \(lines))", value: &request)
        }
        guard request.fd >= 0 else {
            throw PluginError.fatal("\(chip) granted lines \(lines) but returned no request descriptor")
        }
        self.request = DeviceFile(io: io, path: "\(chip) lines \(lines)", fd: request.fd)
        (self.chip, self.offsets) = (chip, offsets)
    }

    /// The current value of every line, in `offsets` order.
    public func values() throws -> [Bool] {
        var values = gpio_v2_line_values(bits: 0, mask: offsets.count == 64 ? ~0 : (1 << UInt64(offsets.count)) - 1)
        try deviceCall { try request.ioctl(UInt(ferry_gpio_v2_line_get_values_ioctl()), name: "GPIO_V2_LINE_GET_VALUES_IOCTL", value: &values) }
        return offsets.indices.map { values.bits & (1 << UInt64($0)) != 0 }
    }

    /// Sets the lines whose index is in `values` (output lines only).
    public func set(_ values: [Int: Bool]) throws {
        var request = gpio_v2_line_values(bits: 0, mask: 0)
        for (index, high) in values {
            request.mask |= 1 << UInt64(index)
            if high { request.bits |= 1 << UInt64(index) }
        }
        try deviceCall { try self.request.ioctl(UInt(ferry_gpio_v2_line_set_values_ioctl()), name: "GPIO_V2_LINE_SET_VALUES_IOCTL", value: &request) }
    }

    /// Every edge event queued since the last call, without blocking.
    public func drainEvents() throws -> [gpio_v2_line_event] {
        var events: [gpio_v2_line_event] = []
        while try deviceCall({ try request.poll(events: Int16(POLLIN), timeoutMilliseconds: 0) }) & Int16(POLLIN) != 0 {
            var batch = [gpio_v2_line_event](repeating: gpio_v2_line_event(), count: 16)
            let count = try batch.withUnsafeMutableBytes { raw in try deviceCall { try request.read(into: raw) } }
            let whole = count / MemoryLayout<gpio_v2_line_event>.stride
            events += batch.prefix(whole)
            if whole < batch.count { break }
        }
        return events
    }

    public func close() { request.close() }
}
