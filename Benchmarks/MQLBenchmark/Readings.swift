import FerryBSON
import Foundation

/// SplitMix64: a small, seeded generator, so every run (and every engine) sees the same readings.
struct SplitMix64 {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }
}

/// One generated sensor reading, the source of both the BSON document and the SQLite row.
struct Reading {
    var organization: Int
    var component: Int
    var timeMs: Int64
    var temperature: Double
    var humidity: Double
}

enum ReadingGenerator {
    static let start: Int64 = 1_772_323_200_000  // 2026-03-01T00:00:00Z
    static let span: Int64 = 30 * 24 * 3_600_000  // 30 days
    static let components = (0..<20).map { "sensor-\($0 < 10 ? "0" : "")\($0)" }
    static let organizations = ["3f0c9a52-org-a", "8d41e7b0-org-b"]

    /// `count` readings in time order (20 sensors taking turns, with jitter), ~30 days in all.
    /// Temperatures have a daily cycle, a per-sensor offset and noise, and two decimals, like a
    /// real sensor's; humidity one decimal.
    static func generate(count: Int, seed: UInt64 = 0xFE44_7E57) -> [Reading] {
        var rng = SplitMix64(state: seed)
        var out: [Reading] = []
        out.reserveCapacity(count)
        let step = Double(span) / Double(max(count, 1))
        for i in 0..<count {
            let t = start + Int64((Double(i) + rng.unit()) * step)
            let component = i % components.count
            let dayFraction = Double((t - start) % 86_400_000) / 86_400_000
            let temperature = 18 + Double(component) * 0.25 + 4 * sin(2 * Double.pi * dayFraction) + (rng.unit() - 0.5) * 2
            let humidity = 40 + 20 * rng.unit()
            out.append(
                Reading(
                    organization: component % organizations.count, component: component, timeMs: t,
                    temperature: (temperature * 100).rounded() / 100, humidity: (humidity * 10).rounded() / 10))
        }
        return out
    }

    /// The reading as Viam's tabular data shape.
    static func document(_ r: Reading) -> BSONDocument {
        [
            "organization_id": .string(organizations[r.organization]),
            "component_name": .string(components[r.component]),
            "method_name": "Readings",
            "time_received": .datetime(r.timeMs),
            "data": ["readings": ["temperature": .double(r.temperature), "humidity": .double(r.humidity)]],
        ]
    }
}
