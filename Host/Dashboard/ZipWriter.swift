import Foundation

/// Writes a ZIP archive as it goes (entries stored, not compressed: images are compressed already),
/// so an export of many files never holds more than one file in memory. No ZIP64: `add` refuses
/// an archive past 4 GiB or 65 535 entries, which the caller reports.
struct ZipWriter {
    struct Full: Error {}

    private var central: [UInt8] = []
    private var offset: UInt64 = 0
    private(set) var count = 0

    /// The local header and data of one entry, to write out now.
    mutating func add(name: String, bytes: [UInt8], modified: Date) throws -> [UInt8] {
        let nameBytes = Array(name.utf8)
        guard count < 65_535, offset + UInt64(30 + nameBytes.count + bytes.count) < UInt64(UInt32.max) else { throw Full() }
        let crc = Self.crc32(bytes)
        let (time, date) = Self.dosTime(modified)
        var local: [UInt8] = []
        local.reserveCapacity(30 + nameBytes.count + bytes.count)
        Self.u32(&local, 0x0403_4b50)
        Self.u16(&local, 20)  // version needed
        Self.u16(&local, 0x0800)  // names are UTF-8
        Self.u16(&local, 0)  // stored
        Self.u16(&local, time)
        Self.u16(&local, date)
        Self.u32(&local, crc)
        Self.u32(&local, UInt32(bytes.count))
        Self.u32(&local, UInt32(bytes.count))
        Self.u16(&local, UInt16(nameBytes.count))
        Self.u16(&local, 0)
        local += nameBytes

        Self.u32(&central, 0x0201_4b50)
        Self.u16(&central, 20)  // made by
        Self.u16(&central, 20)
        Self.u16(&central, 0x0800)
        Self.u16(&central, 0)
        Self.u16(&central, time)
        Self.u16(&central, date)
        Self.u32(&central, crc)
        Self.u32(&central, UInt32(bytes.count))
        Self.u32(&central, UInt32(bytes.count))
        Self.u16(&central, UInt16(nameBytes.count))
        for _ in 0..<4 { Self.u16(&central, 0) }  // extra, comment, disk, internal attributes
        Self.u32(&central, 0)  // external attributes
        Self.u32(&central, UInt32(offset))
        central += nameBytes

        offset += UInt64(local.count + bytes.count)
        count += 1
        return local + bytes
    }

    /// The central directory and its end record: the archive's last bytes.
    func finish() -> [UInt8] {
        var end = central
        Self.u32(&end, 0x0605_4b50)
        Self.u16(&end, 0)
        Self.u16(&end, 0)
        Self.u16(&end, UInt16(count))
        Self.u16(&end, UInt16(count))
        Self.u32(&end, UInt32(central.count))
        Self.u32(&end, UInt32(offset))
        Self.u16(&end, 0)
        return end
    }

    static func u16(_ out: inout [UInt8], _ value: UInt16) { out += [UInt8(value & 0xff), UInt8(value >> 8)] }
    static func u32(_ out: inout [UInt8], _ value: UInt32) {
        out += [UInt8(value & 0xff), UInt8((value >> 8) & 0xff), UInt8((value >> 16) & 0xff), UInt8(value >> 24)]
    }

    static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for byte in bytes { c = crcTable[Int((c ^ UInt32(byte)) & 0xff)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    /// MS-DOS time and date (UTC; the format has no zone), clamped to the years it can hold.
    static func dosTime(_ date: Date) -> (time: UInt16, date: UInt16) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let year = min(max((c.year ?? 1980) - 1980, 0), 127)
        let time = UInt16((c.hour ?? 0) << 11 | (c.minute ?? 0) << 5 | (c.second ?? 0) / 2)
        let day = UInt16(year << 9 | (c.month ?? 1) << 5 | (c.day ?? 1))
        return (time, day)
    }
}
