/// Time zone text inside a `$dateFromString` input ("Z", "+05:30", "GMT-02", "EST"), read the way
/// MongoDB's parser reads it. Olson names are refused inside strings, as MongoDB refuses them.
enum MQLZoneText {
    /// Reads a zone at the scanner (after optional spaces), or throws MongoDB's message.
    static func parse(_ s: inout MQLDateScanner) throws -> MQLParsedDate.Zone {
        s.skipSpaces()
        let start = s.position
        if s.current == UInt8(ascii: "+") || s.current == UInt8(ascii: "-") {
            return .offset(seconds: try offset(&s))
        }
        let word = s.word()
        if s.current == UInt8(ascii: "/") || s.current == UInt8(ascii: "_")
            || (!word.isEmpty && abbreviations[word.uppercased()] == nil && MQLZoneCatalog.zone(named: word) != nil)
        {
            throw s.error("passing a time zone identifier as part of the string is not allowed", at: start)
        }
        let upper = word.uppercased()
        if upper == "GMT" || upper == "UTC", s.current == UInt8(ascii: "+") || s.current == UInt8(ascii: "-") {
            return .offset(seconds: try offset(&s))
        }
        guard let seconds = abbreviations[upper] else {
            throw s.error("The timezone could not be found in the database", at: start)
        }
        return .abbreviation(upper, seconds: seconds)
    }

    /// `±H`, `±HH`, `±HMM`, `±HHMM`, `±H:MM`, `±HH:MM` → seconds east of UTC.
    static func offset(_ s: inout MQLDateScanner) throws -> Int {
        let start = s.position
        let sign = s.current == UInt8(ascii: "-") ? -1 : 1
        s.position += 1
        guard let lead = s.number(maxDigits: 4) else {
            throw s.error("The timezone could not be found in the database", at: start)
        }
        var hours = lead.value, minutes: Int64 = 0
        if lead.digits <= 2, s.current == UInt8(ascii: ":") {
            s.position += 1
            guard let m = s.number(minDigits: 2, maxDigits: 2) else {
                throw s.error("The timezone could not be found in the database", at: start)
            }
            minutes = m.value
        } else if lead.digits > 2 {
            hours = lead.value / 100
            minutes = lead.value % 100
        }
        return sign * Int(hours * 3600 + minutes * 60)
    }

    /// `%Z`: a signed number of minutes ("+285", "-300").
    static func minutesOffset(_ s: inout MQLDateScanner) throws -> Int {
        let start = s.position
        guard s.current == UInt8(ascii: "+") || s.current == UInt8(ascii: "-") else {
            throw s.error("Invalid timezone offset in minutes", at: start)
        }
        let sign = s.current == UInt8(ascii: "-") ? -1 : 1
        s.position += 1
        guard let minutes = s.number(maxDigits: 4) else { throw s.error("Invalid timezone offset in minutes", at: start) }
        return sign * Int(minutes.value) * 60
    }

    /// Abbreviations with one unambiguous offset, plus the military letters (A-I, K-M east, N-Y
    /// west, Z). Ambiguous ones (IST, …) are left out rather than guessed.
    static let abbreviations: [String: Int] = {
        var table: [String: Double] = [
            "UTC": 0, "UT": 0, "GMT": 0, "Z": 0, "WET": 0, "WEST": 1, "BST": 1, "CET": 1, "CEST": 2,
            "MET": 1, "MEST": 2, "EET": 2, "EEST": 3, "MSK": 3, "SAST": 2, "WAT": 1, "CAT": 2, "EAT": 3,
            "PKT": 5, "HKT": 8, "SGT": 8, "AWST": 8, "JST": 9, "KST": 9, "ACST": 9.5, "ACDT": 10.5,
            "AEST": 10, "AEDT": 11, "NZST": 12, "NZDT": 13,
            "HST": -10, "AKST": -9, "AKDT": -8, "PST": -8, "PDT": -7, "MST": -7, "MDT": -6,
            "CST": -6, "CDT": -5, "EST": -5, "EDT": -4, "AST": -4, "ADT": -3, "NST": -3.5, "NDT": -2.5,
        ]
        for (index, letter) in "ABCDEFGHIKLM".enumerated() { table[String(letter)] = Double(index + 1) }
        for (index, letter) in "NOPQRSTUVWXY".enumerated() { table[String(letter)] = -Double(index + 1) }
        return table.mapValues { Int($0 * 3600) }
    }()
}
