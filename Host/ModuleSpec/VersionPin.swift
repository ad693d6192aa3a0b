/// The `version` of a registry module in a machine config, in Viam's forms:
/// `1.2.0` (exactly that), `1.2.*` (the newest 1.2.x), `1.*` (the newest 1.x.y), `latest` (the
/// newest release) and `latest-with-prerelease` (the newest version, pre-releases included).
/// Only an exact pin or `latest-with-prerelease` selects a pre-release.
public enum VersionPin: Sendable, Hashable, CustomStringConvertible {
    case exact(SemanticVersion)
    case patch(major: UInt64, minor: UInt64)
    case minor(major: UInt64)
    case latest
    case latestWithPrerelease

    public struct ParseError: Error, CustomStringConvertible, Sendable, Equatable {
        public var text: String
        public var reason: String
        public var description: String {
            "\"\(text)\" is not a version pin (\(reason)); use 1.2.0, 1.2.*, 1.*, latest or latest-with-prerelease"
        }
    }

    public init(parsing text: String) throws(ParseError) {
        switch text {
        case "latest": self = .latest
        case "latest-with-prerelease": self = .latestWithPrerelease
        default:
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            func number(_ part: Substring) throws(ParseError) -> UInt64 {
                guard !part.isEmpty, part.utf8.allSatisfy(SemanticVersion.isDigit), !(part.count > 1 && part.hasPrefix("0")),
                    let value = UInt64(part)
                else { throw ParseError(text: text, reason: "\"\(part)\" is not a number without leading zeros") }
                return value
            }
            if parts.count == 2, parts[1] == "*" {
                self = .minor(major: try number(parts[0]))
            } else if parts.count == 3, parts[2] == "*" {
                self = .patch(major: try number(parts[0]), minor: try number(parts[1]))
            } else if text.contains(Character("*")) {
                throw ParseError(text: text, reason: "a wildcard stands only last, after MAJOR. or MAJOR.MINOR.")
            } else {
                do throws(SemanticVersion.ParseError) {
                    self = .exact(try SemanticVersion(parsing: text))
                } catch {
                    throw ParseError(text: text, reason: error.reason)
                }
            }
        }
    }

    public var description: String {
        switch self {
        case .exact(let version): version.description
        case .patch(let major, let minor): "\(major).\(minor).*"
        case .minor(let major): "\(major).*"
        case .latest: "latest"
        case .latestWithPrerelease: "latest-with-prerelease"
        }
    }

    public func matches(_ version: SemanticVersion) -> Bool {
        switch self {
        case .exact(let wanted): version == wanted
        case .patch(let major, let minor): !version.isPrerelease && version.major == major && version.minor == minor
        case .minor(let major): !version.isPrerelease && version.major == major
        case .latest: !version.isPrerelease
        case .latestWithPrerelease: true
        }
    }

    /// The highest-precedence version among `candidates` that the pin accepts.
    public func select(from candidates: some Sequence<SemanticVersion>) -> SemanticVersion? {
        candidates.filter(matches).max()
    }
}
