/// UTC offsets written as text: the `timezone` forms MongoDB accepts, and `±HH:MM` for display.
enum MQLUTCOffset {
    /// Seconds east of UTC for `±HH`, `±HHMM` or `±HH:MM` (MongoDB's forms, nothing else: no
    /// `Z`, no single-digit hour); nil when `text` is not one of them or the minutes exceed 59.
    static func parse(_ text: String) -> Int? {
        let b = Array(text.utf8)
        guard b.count == 3 || b.count == 5 || b.count == 6, b[0] == UInt8(ascii: "+") || b[0] == UInt8(ascii: "-")
        else { return nil }
        let digitIndexes: [Int] =
            switch b.count {
            case 3: [1, 2]
            case 5: [1, 2, 3, 4]
            default: [1, 2, 4, 5]
            }
        if b.count == 6 && b[3] != UInt8(ascii: ":") { return nil }
        var digits: [Int] = []
        for i in digitIndexes {
            guard b[i] >= UInt8(ascii: "0"), b[i] <= UInt8(ascii: "9") else { return nil }
            digits.append(Int(b[i] - UInt8(ascii: "0")))
        }
        let hours = digits[0] * 10 + digits[1]
        let minutes = digits.count == 4 ? digits[2] * 10 + digits[3] : 0
        guard minutes < 60 else { return nil }
        let sign = b[0] == UInt8(ascii: "-") ? -1 : 1
        return sign * (hours * 3600 + minutes * 60)
    }

    /// `+05:30`, `-08:00`, `+00:00`; seconds, which only historical Olson offsets have, are dropped.
    static func text(_ seconds: Int) -> String {
        let sign = seconds < 0 ? "-" : "+"
        let minutes = abs(seconds) / 60
        return sign + twoDigits(minutes / 60) + ":" + twoDigits(minutes % 60)
    }

    private static func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
