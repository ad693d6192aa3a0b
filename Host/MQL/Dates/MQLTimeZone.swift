/// A `timezone` argument of MongoDB's date operators: UTC, a fixed UTC offset, or an Olson zone.
///
/// Accepted forms, as MongoDB accepts them (`init(parsing:)`):
/// - `"UTC"`, `"GMT"` (offset zero; only "UTC" and zero offsets count as MongoDB's UTC zone);
/// - an Olson identifier, case-sensitive, as in the tz database: `"Europe/Paris"`,
///   `"America/New_York"`, links such as `"US/Eastern"`, and `"Etc/GMT+5"`;
/// - a UTC offset `±HH`, `±HHMM` or `±HH:MM` (`"+03"`, `"-0800"`, `"+04:30"`).
/// MongoDB rejects `"Z"`, lower-case names and abbreviations such as `"PST"`, and so does this.
///
/// UTC and fixed offsets are pure integer arithmetic. Olson zones read offsets from Foundation.
///
/// Local → UTC rule (``utcMillis(fromLocal:)``, used by `fromParts`, `parse`, `add` of days or
/// larger, and `truncate` to days or larger), the "compatible" rule of java.time and TC39 Temporal:
/// - a local time that happens twice (clocks set back) resolves to the earlier instant, i.e. the
///   offset in force before the change (America/New_York 2021-11-07 01:30 → 05:30Z, EDT);
/// - a local time that never happens (clocks set forward) is read with the offset in force before
///   the gap, which moves it forward by the gap's length (2021-03-14 02:30 → 07:30Z = 03:30 EDT).
/// MongoDB documents no rule for these times; this one is deterministic and the same east and
/// west of Greenwich.
public struct MQLTimeZone: Sendable, Equatable, CustomStringConvertible {
    enum Kind: Sendable {
        case fixed(seconds: Int)
        case olson(MQLOlsonZone)
    }

    let kind: Kind

    /// `"UTC"`, `"GMT"`, the Olson name as given, or the offset as `±HH:MM`.
    public let identifier: String

    public static let utc = MQLTimeZone(kind: .fixed(seconds: 0), identifier: "UTC")

    init(kind: Kind, identifier: String) {
        self.kind = kind
        self.identifier = identifier
    }

    /// A fixed offset east of UTC; zero is UTC itself.
    public init(offsetSeconds: Int) {
        self.init(kind: .fixed(seconds: offsetSeconds), identifier: MQLUTCOffset.text(offsetSeconds))
        if offsetSeconds == 0 { self = .utc }
    }

    /// Parses a `timezone` argument; throws error 40485 with MongoDB's message, followed by the
    /// forms that are accepted.
    public init(parsing text: String) throws {
        if let offset = MQLUTCOffset.parse(text) {
            self.init(offsetSeconds: offset)
            return
        }
        if text == "UTC" {
            self = .utc
            return
        }
        if text == "GMT" {
            // Offset zero like UTC, but MongoDB treats it as a named zone (see `isUTC`).
            self.init(kind: .fixed(seconds: 0), identifier: "GMT")
            return
        }
        if let zone = MQLZoneCatalog.zone(named: text) {
            self.init(kind: .olson(zone), identifier: text)
            return
        }
        throw MQLDateError(
            code: 40485,
            message: "unrecognized time zone identifier: \"\(text)\" (expected \"UTC\", \"GMT\", "
                + "an Olson name such as \"Europe/Paris\" or \"America/New_York\" (case-sensitive), "
                + "or a UTC offset \"+HH\", \"+HHMM\" or \"+HH:MM\", e.g. \"+04:30\", \"-0800\", \"+03\")")
    }

    /// True for "UTC" and zero offsets ("+00:00"), MongoDB's UTC zone: only then may
    /// `$dateFromString` strings carry their own offset, and only then does `$dateToString`'s
    /// default format end in "Z". "GMT" computes like UTC but, as in MongoDB, is not it.
    public var isUTC: Bool {
        if case .fixed(0) = kind { return identifier != "GMT" }
        return false
    }

    /// Seconds east of UTC in force at an instant.
    @inline(__always)
    public func offsetSeconds(atUTCMillis ms: Int64) -> Int {
        switch kind {
        case .fixed(let seconds): seconds
        case .olson(let zone): zone.offsetSeconds(atUTCMillis: ms)
        }
    }

    /// The wall clock in this zone at an instant.
    @inline(__always)
    func local(_ ms: Int64) -> MQLLocalTime {
        MQLLocalTime(utcMillis: ms, offsetSeconds: offsetSeconds(atUTCMillis: ms))
    }

    /// The instant a wall-clock time names in this zone, resolving DST overlaps and gaps by the
    /// rule in the type's documentation; nil when it is outside the Int64 range.
    func utcMillis(fromLocal local: MQLLocalTime) -> Int64? {
        guard let localMillis = local.millis else { return nil }
        switch kind {
        case .fixed(let seconds):
            return Self.subtract(offset: seconds, from: localMillis)
        case .olson(let zone):
            return zone.utcMillis(fromLocalMillis: localMillis)
        }
    }

    /// `localMillis - offset`, nil on overflow.
    @inline(__always)
    static func subtract(offset seconds: Int, from localMillis: Int64) -> Int64? {
        let (result, overflow) = localMillis.subtractingReportingOverflow(Int64(seconds) * MQLCivil.msPerSecond)
        return overflow ? nil : result
    }

    /// UTC millis of 2000-01-01T00:00:00 in this zone: `$dateTrunc`'s reference point, found as
    /// MongoDB finds it (the zone's offset at 2000-01-01T00:00:00Z).
    @inline(__always)
    var truncationReferenceMillis: Int64 {
        switch kind {
        case .fixed(let seconds): MQLDates.referenceUTCMillis - Int64(seconds) * MQLCivil.msPerSecond
        case .olson(let zone): zone.truncationReferenceMillis
        }
    }

    public var description: String { identifier }

    public static func == (lhs: MQLTimeZone, rhs: MQLTimeZone) -> Bool {
        switch (lhs.kind, rhs.kind) {
        case (.fixed(let a), .fixed(let b)): a == b && lhs.isUTC == rhs.isUTC
        case (.olson(let a), .olson(let b)): a.name == b.name
        default: false
        }
    }
}
