/// An ADS1115 as the bus sees it: 16-bit registers sent MSB first; a config write with OS=1 starts
/// a conversion that stays busy for `busyPolls` config reads.
final class FakeADS1115: FakeI2CDevice {
    var channels: [Int: Int16]
    var busyPolls: Int
    private(set) var config: UInt16 = 0x8583
    private var remaining = 0
    private(set) var configWrites: [UInt16] = []

    init(channels: [Int: Int16], busyPolls: Int = 2) { (self.channels, self.busyPolls) = (channels, busyPolls) }

    func read(register: UInt8, count: Int) -> [UInt8] {
        let word: UInt16
        switch register {
        case 0x01:
            if remaining > 0 { remaining -= 1 }
            word = remaining > 0 ? config & 0x7FFF : config | 0x8000
        default:
            let channel = Int((config >> 12) & 0x7) - 4
            word = UInt16(bitPattern: channels[channel] ?? 0)
        }
        return Array([UInt8(word >> 8), UInt8(word & 0xFF)].prefix(count))
    }

    func write(register: UInt8, bytes: [UInt8]) {
        guard register == 0x01, bytes.count == 2 else { return }
        config = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        configWrites.append(config)
        if config & 0x8000 != 0 { remaining = busyPolls + 1 }
    }
}
