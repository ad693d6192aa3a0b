#if canImport(Glibc)
    import Glibc
#endif

/// Deterministic signal shapes. No random generator anywhere: the same (seed, time) always gives
/// the same value, so readings are reproducible under an injected clock.
enum Signal {
    /// A stable 64-bit seed from a component's name (FNV-1a; Swift's Hasher is randomized per run),
    /// so two fake sensors with different names do not read identical noise.
    static func seed(_ name: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// SplitMix64's finalizer: a well-mixed hash of one integer.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// A uniform value in [-1, 1) for integer knot `k` of stream `seed`.
    static func unit(_ seed: UInt64, _ k: Int64) -> Double {
        let bits = mix(seed ^ mix(UInt64(bitPattern: k)))
        return Double(bits >> 11) / Double(1 << 52) - 1
    }

    /// Smooth value noise in [-1, 1]: random values at knots `1/rate` seconds apart, joined by a
    /// cosine ease, so consecutive readings drift instead of jumping like white noise.
    static func noise(_ seed: UInt64, _ t: Double, rate: Double = 1) -> Double {
        let position = t * rate
        let knot = position.rounded(.down)
        let fraction = position - knot
        let k = Int64(knot)
        let ease = (1 - cos(fraction * .pi)) / 2
        return unit(seed, k) * (1 - ease) + unit(seed, k + 1) * ease
    }

    /// sin(2π t / period + phase).
    static func sine(_ t: Double, period: Double, phase: Double = 0) -> Double {
        sin(2 * .pi * fraction(t / period) + phase)
    }

    /// A triangle wave in [0, 1]: 0 at t = 0, 1 at half a period, 0 again at a full period.
    static func triangle(_ t: Double, period: Double) -> Double {
        let f = fraction(t / period)
        return f < 0.5 ? 2 * f : 2 - 2 * f
    }

    /// The fractional part in [0, 1). Reducing the phase first keeps sin accurate for Unix times.
    static func fraction(_ x: Double) -> Double { x - x.rounded(.down) }

    static func degrees(_ radians: Double) -> Double { radians * 180 / .pi }
    static func radians(_ degrees: Double) -> Double { degrees * .pi / 180 }

    /// Rounds to `places` decimals, as a real instrument's resolution would.
    static func rounded(_ value: Double, places: Int) -> Double {
        let scale = pow(10, Double(places))
        return (value * scale).rounded() / scale
    }
}
