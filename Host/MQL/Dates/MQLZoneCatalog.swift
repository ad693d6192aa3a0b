import Foundation
import Synchronization

/// Which Olson names are valid, and one shared `MQLOlsonZone` per name so a pipeline that names a
/// zone per document pays for the lookup once.
///
/// A name is valid when Foundation can load it and it is a real tz database entry: one of
/// Foundation's known identifiers, or a TZif file under the system zoneinfo directory (for links
/// such as "US/Eastern", which MongoDB accepts too). Foundation alone is too lenient: it also takes
/// "PST", "GMT+5" and other names MongoDB rejects.
enum MQLZoneCatalog {
    private static let cache = Mutex<[String: MQLOlsonZone]>([:])
    private static let known = Set(TimeZone.knownTimeZoneIdentifiers)
    static let zoneInfoDirectory = ProcessInfo.processInfo.environment["TZDIR"] ?? "/usr/share/zoneinfo"

    static func zone(named name: String) -> MQLOlsonZone? {
        if let hit = cache.withLock({ $0[name] }) { return hit }
        guard isDatabaseName(name), let timeZone = TimeZone(identifier: name) else { return nil }
        let zone = MQLOlsonZone(name: name, zone: timeZone)
        return cache.withLock { cache in
            if let raced = cache[name] { return raced }
            cache[name] = zone
            return zone
        }
    }

    private static func isDatabaseName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 64,
            name.utf8.allSatisfy({ isNameByte($0) }),
            !name.hasPrefix("/"), !name.contains(".."),
            !name.hasPrefix("posix/"), !name.hasPrefix("right/"),
            name != "localtime", name != "posixrules"
        else { return false }
        return known.contains(name) || isTZifFile(zoneInfoDirectory + "/" + name)
    }

    private static func isNameByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "/"), UInt8(ascii: "_"),
            UInt8(ascii: "-"), UInt8(ascii: "+"):
            true
        default: false
        }
    }

    private static func isTZifFile(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        guard let magic = try? handle.read(upToCount: 4) else { return false }
        return magic == Data("TZif".utf8)
    }
}
