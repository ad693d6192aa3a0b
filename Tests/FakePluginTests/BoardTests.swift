import FerryBSON
import FerrySDK
import Testing

@testable import FerryFake

@Suite struct BoardTests {
    @Test func analogReadersFollowSinesWithinTenBits() throws {
        let clock = ManualClock()
        let board = try FakeBoard(config: config(.board), clock: clock.read)
        var seen: [String: [Int32]] = [:]
        for _ in 0..<100 {
            let analogs = try tabular(board.capture(method: "Analogs", parameters: [:]))?["analogs"]?.documentValue
            #expect(analogs?.keys == ["a1", "a2"])
            for name in ["a1", "a2"] {
                let reader = try #require(analogs?[name]?.documentValue)
                let value = try #require(reader["value"]?.int64Value)
                #expect((0...1023).contains(value))
                #expect(reader["max_range"] == .double(3.3))
                #expect(reader["step_size"] == .double(3.3 / 1024))
                seen[name, default: []].append(Int32(value))
            }
            clock.advance(0.1)
        }
        // Over one 10 s period each reader sweeps most of its range.
        for values in seen.values { #expect(values.max()! - values.min()! > 800) }
        // The two readers are out of phase.
        #expect(seen["a1"] != seen["a2"])
    }

    @Test func oneReaderByName() throws {
        let board = try FakeBoard(config: config(.board, ["analogs": [["name": "battery", "pin": "0"], "light"]]), clock: { 5 })
        let one = try tabular(board.capture(method: "Analogs", parameters: ["reader_name": "light"]))
        #expect(one?.keys == ["value", "min_range", "max_range", "step_size"])
        expectInvalid("no analog reader \"a1\"", "battery, light") {
            try board.capture(method: "Analogs", parameters: ["reader_name": "a1"])
        }
    }

    @Test func gpioPinsCountInBinary() throws {
        let clock = ManualClock()
        let board = try FakeBoard(config: config(.board), clock: clock.read)
        for count in 0..<16 {
            clock.set(Double(count) * 0.5 + 0.25)  // the middle of the count-th half second
            let gpios = try #require(tabular(board.capture(method: "Gpios", parameters: [:]))?["gpios"]?.documentValue)
            #expect(gpios.keys == ["11", "12", "13", "15"])
            for (bit, pin) in ["11", "12", "13", "15"].enumerated() {
                #expect(gpios[pin]?.documentValue?["high"] == .bool(count >> bit & 1 == 1), "count \(count) pin \(pin)")
            }
        }
        clock.set(2.75)  // count 5 = 0b0101
        #expect(try tabular(board.capture(method: "Gpios", parameters: ["pin_name": "13"])) == ["high": true])
        expectInvalid("no GPIO pin \"7\"") { try board.readGPIO("7") }
    }

    /// Viam's esp32 board config, as its docs write it: integer pins, analogs with a pin each.
    @Test func viamsESP32AttributesName27AndTheReaders() throws {
        let board = try FakeBoard(
            config: config(.board, ["pins": [27], "analogs": [["pin": "34", "name": "A1"], ["pin": "35", "name": "A2"]]]), clock: { 1 })
        #expect(board.gpioPins == ["27"])
        #expect(board.analogNames == ["A1", "A2"])
        #expect(try tabular(board.capture(method: "Gpios", parameters: ["pin_name": "27"]))?.keys == ["high"])
    }

    @Test func badAttributes() {
        expectInvalid("analogs", "distinct") { try FakeBoard(config: config(.board, ["analogs": ["a", "a"]]), clock: { 0 }) }
        expectInvalid("gpio_pins") { try FakeBoard(config: config(.board, ["gpio_pins": "11"]), clock: { 0 }) }
        expectInvalid("gpio_toggle_s") { try FakeBoard(config: config(.board, ["gpio_toggle_s": -2]), clock: { 0 }) }
    }
}
