import FerryBSON
import FerrySDK
import Testing

@testable import FerryFake

@Suite struct SensorTests {
    func reading(_ sensor: FakeSensor) throws -> (temperature: Double, humidity: Double, pressure: Double) {
        let readings = try tabular(sensor.capture(method: "Readings", parameters: [:]))?["readings"]?.documentValue
        return try (
            #require(readings?["temperature_celsius"]?.doubleValue), #require(readings?["humidity_pct"]?.doubleValue),
            #require(readings?["pressure_hpa"]?.doubleValue)
        )
    }

    @Test func readingsArePlausibleAndFollowADailyCycle() throws {
        let clock = ManualClock(1_700_000_000)
        let sensor = try FakeSensor(config: config(.sensor), clock: clock.read)
        var temperatures: [Double] = []
        for _ in 0..<288 {  // a day, every 5 minutes
            let (temperature, humidity, pressure) = try reading(sensor)
            #expect((21.5 - 3 * 1.15 - 0.06)...(21.5 + 3 * 1.15 + 0.06) ~= temperature)
            #expect((0...100).contains(humidity))
            #expect((1000...1030).contains(pressure))
            temperatures.append(temperature)
            clock.advance(300)
        }
        // The daily swing is 2 × amplitude; the ripple and noise add a little more.
        #expect(temperatures.max()! - temperatures.min()! > 5.5)
    }

    @Test func consecutiveReadingsDriftRatherThanJump() throws {
        let clock = ManualClock(1_700_000_000)
        let sensor = try FakeSensor(config: config(.sensor), clock: clock.read)
        var previous = try reading(sensor)
        for _ in 0..<600 {  // ten minutes at 1 Hz
            clock.advance(1)
            let next = try reading(sensor)
            // Ripple ≤ 0.005 °C/s; noise moves ≤ 0.1 °C per 2 s knot.
            #expect(abs(next.temperature - previous.temperature) < 0.1)
            #expect(abs(next.humidity - previous.humidity) < 0.5)
            #expect(abs(next.pressure - previous.pressure) < 0.1)
            previous = next
        }
    }

    @Test func warmestInTheAfternoonUTC() throws {
        let midnight = 1_700_006_400.0  // 2023-11-15 00:00 UTC
        let clock = ManualClock(midnight)
        let sensor = try FakeSensor(config: config(.sensor, ["noise": 0]), clock: clock.read)
        let atMidnight = try reading(sensor).temperature
        clock.set(midnight + 15 * 3600)
        let afternoon = try reading(sensor).temperature
        clock.set(midnight + 3 * 3600)
        let night = try reading(sensor).temperature
        #expect(afternoon > atMidnight && atMidnight > night)
        #expect(afternoon > 23.5)
    }

    @Test func deterministicForTheSameNameAndTime() throws {
        let clock = ManualClock()
        let a = try FakeSensor(config: config(.sensor, name: "greenhouse"), clock: clock.read)
        let b = try FakeSensor(config: config(.sensor, name: "greenhouse"), clock: clock.read)
        let other = try FakeSensor(config: config(.sensor, name: "shed"), clock: clock.read)
        let first = try a.readings(extra: [:])
        #expect(first == (try b.readings(extra: [:])))
        #expect(first == (try a.readings(extra: [:])))
        #expect(first != (try other.readings(extra: [:])))
        clock.advance(60)
        #expect(first != (try a.readings(extra: [:])))
    }

    @Test func attributesTuneTheSignal() throws {
        let clock = ManualClock()
        let flat = try FakeSensor(
            config: config(.sensor, ["base_celsius": 10, "amplitude": 0, "noise": 0.0, "base_humidity_pct": 70]), clock: clock.read)
        for _ in 0..<10 {
            let (temperature, humidity, _) = try reading(flat)
            #expect(temperature == 10)
            #expect(abs(humidity - 70) <= 1.5)
            clock.advance(1234)
        }
    }

    @Test func badAttributesAreRefusedByName() {
        let clock = ManualClock()
        expectInvalid("amplitude", "≥ 0", "-1") { try FakeSensor(config: config(.sensor, ["amplitude": -1]), clock: clock.read) }
        expectInvalid("base_celsius", "\"hot\"") { try FakeSensor(config: config(.sensor, ["base_celsius": "hot"]), clock: clock.read) }
        expectInvalid("base_humidity_pct") { try FakeSensor(config: config(.sensor, ["base_humidity_pct": 120]), clock: clock.read) }
        expectInvalid("fast_period_s", "> 0") { try FakeSensor(config: config(.sensor, ["fast_period_s": 0]), clock: clock.read) }
    }
}
