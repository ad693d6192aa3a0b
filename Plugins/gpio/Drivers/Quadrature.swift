/// Counts a quadrature encoder's edges: every edge on A or B is one count (four per cycle), up
/// when A leads B, down when B leads A. An edge that leaves its line where it was means the kernel
/// dropped one in between (its event buffer overflowed); it is counted in `missed`, not guessed.
public struct Quadrature: Sendable, Equatable {
    public private(set) var a: Bool
    public private(set) var b: Bool
    public private(set) var count: Int64 = 0
    public private(set) var missed: Int = 0

    public init(a: Bool, b: Bool) { (self.a, self.b) = (a, b) }

    private var state: Int { (a ? 2 : 0) | (b ? 1 : 0) }
    /// Forward order of (a, b) states: 00 → 10 → 11 → 01 → 00.
    private static let next = [0: 2, 2: 3, 3: 1, 1: 0]

    public mutating func edge(lineA: Bool, high: Bool) {
        let before = state
        if lineA { a = high } else { b = high }
        let after = state
        if after == before {
            missed += 1
        } else {
            count += Quadrature.next[before] == after ? 1 : -1
        }
    }
}
