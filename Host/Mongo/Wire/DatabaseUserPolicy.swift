/// Ferry's MongoDB database users: one per organisation, named as Viam names them, with Viam's
/// password rules.
public enum DatabaseUserPolicy {
    static let prefix = "db-user-"

    /// `db-user-<organisation id>`, the name Viam gives an organisation's database user.
    public static func userName(organizationID: String) -> String { prefix + organizationID }

    /// The organisation a database user name stands for, or nil for any other name.
    public static func organizationID(userName: String) -> String? {
        guard userName.hasPrefix(prefix), userName.count > prefix.count else { return nil }
        return String(userName.dropFirst(prefix.count))
    }

    /// Every rule `password` breaks, empty when it is acceptable. Viam's rules (at least 8
    /// characters, an uppercase letter, a number and a special character), plus Ferry's own:
    /// printable ASCII only, so every driver's SASLprep leaves it unchanged, and at most 256.
    public static func problems(_ password: String) -> [String] {
        var problems: [String] = []
        let characters = Array(password.unicodeScalars)
        if characters.count < 8 { problems.append("it must be at least 8 characters long (it has \(characters.count))") }
        if characters.count > 256 { problems.append("it must be at most 256 characters long (it has \(characters.count))") }
        if !characters.contains(where: { ("A"..."Z").contains($0) }) { problems.append("it must include an uppercase letter") }
        if !characters.contains(where: { ("0"..."9").contains($0) }) { problems.append("it must include a number") }
        if !characters.contains(where: isSpecial) { problems.append("it must include a special character such as $ or %") }
        if let other = characters.first(where: { !(0x20...0x7E).contains($0.value) }) {
            problems.append(
                "it may contain printable ASCII characters only (letters, digits, space and punctuation), not U+\(String(other.value, radix: 16, uppercase: true))")
        }
        return problems
    }

    static func isSpecial(_ scalar: Unicode.Scalar) -> Bool {
        (0x21...0x7E).contains(scalar.value) && !("A"..."Z").contains(scalar) && !("a"..."z").contains(scalar)
            && !("0"..."9").contains(scalar)
    }
}
