import Foundation
import Testing

@testable import FerryMQL

@Suite("Dates: time zones")
struct TimeZoneTests {
    @Test func zoneinfoIsInstalled() {
        #expect(FileManager.default.fileExists(atPath: MQLZoneCatalog.zoneInfoDirectory + "/America/New_York"))
    }

    @Test func utcNames() throws {
        #expect(try MQLTimeZone(parsing: "UTC") == .utc)
        #expect(try MQLTimeZone(parsing: "+00:00") == .utc)
        #expect(try MQLTimeZone(parsing: "-00") == .utc)
        #expect(MQLTimeZone.utc.isUTC)
        #expect(MQLTimeZone.utc.offsetSeconds(atUTCMillis: 1_600_000_000_000) == 0)
    }

    @Test func gmtComputesLikeUTCButIsNotMongosUTCZone() throws {
        let gmt = try MQLTimeZone(parsing: "GMT")
        #expect(gmt.offsetSeconds(atUTCMillis: 1_600_000_000_000) == 0)
        #expect(!gmt.isUTC)
        #expect(gmt != .utc)
        #expect(gmt.identifier == "GMT")
        #expect(MQLDates.parts(utc("2021-06-01T12:00:00Z"), in: gmt) == MQLDates.parts(utc("2021-06-01T12:00:00Z"), in: .utc))
    }

    @Test(arguments: [
        ("+04:30", 16_200, "+04:30"), ("-0800", -28_800, "-08:00"), ("+03", 10_800, "+03:00"),
        ("+0545", 20_700, "+05:45"), ("-03:30", -12_600, "-03:30"), ("+14:00", 50_400, "+14:00"),
    ])
    func utcOffsetForms(text: String, seconds: Int, identifier: String) throws {
        let zone = try MQLTimeZone(parsing: text)
        #expect(zone.offsetSeconds(atUTCMillis: 0) == seconds)
        #expect(zone.offsetSeconds(atUTCMillis: -62_135_596_800_000) == seconds)
        #expect(zone.identifier == identifier)
        #expect(!zone.isUTC)
        #expect(zone == MQLTimeZone(offsetSeconds: seconds))
    }

    @Test func olsonZones() throws {
        let paris = try MQLTimeZone(parsing: "Europe/Paris")
        #expect(paris.identifier == "Europe/Paris")
        #expect(paris.offsetSeconds(atUTCMillis: utc("2021-07-01T00:00:00Z")) == 7200)
        #expect(paris.offsetSeconds(atUTCMillis: utc("2021-01-01T00:00:00Z")) == 3600)
        #expect(newYork.offsetSeconds(atUTCMillis: utc("2021-03-14T06:59:59.999Z")) == -18_000)
        #expect(newYork.offsetSeconds(atUTCMillis: utc("2021-03-14T07:00:00Z")) == -14_400)
        #expect(newYork.offsetSeconds(atUTCMillis: utc("2021-11-07T05:59:59.999Z")) == -14_400)
        #expect(newYork.offsetSeconds(atUTCMillis: utc("2021-11-07T06:00:00Z")) == -18_000)
        #expect(kathmandu.offsetSeconds(atUTCMillis: utc("2020-06-01T00:00:00Z")) == 20_700)
        #expect(kathmandu.offsetSeconds(atUTCMillis: utc("1980-06-01T00:00:00Z")) == 19_800)  // +05:30 until 1986
        #expect(newYork.offsetSeconds(atUTCMillis: utc("1880-01-01T00:00:00Z")) == -17_762)  // local mean time
        #expect(try MQLTimeZone(parsing: "Etc/GMT+5").offsetSeconds(atUTCMillis: 0) == -18_000)
        #expect(try MQLTimeZone(parsing: "US/Eastern").offsetSeconds(atUTCMillis: 0) == -18_000)  // a tz link
        #expect(try MQLTimeZone(parsing: "America/New_York") == newYork)
        #expect(newYork != paris)
        #expect(!newYork.isUTC)
    }

    @Test func farFromTodayOlsonLookupsStayDefined() {
        #expect(newYork.offsetSeconds(atUTCMillis: .max) == newYork.offsetSeconds(atUTCMillis: .max - 1))
        #expect([-18_000, -14_400].contains(newYork.offsetSeconds(atUTCMillis: utc("9999-07-01T00:00:00Z"))))
        #expect(newYork.offsetSeconds(atUTCMillis: .min) == -17_762)
    }

    @Test(arguments: [
        "Z", "z", "utc", "europe/paris", "PST", "GMT+5", "+4:30", "+04:60", "+0430x", "04:30", "America/Invalid",
        "", " UTC", "../../etc/passwd", "/usr/share/zoneinfo/UTC", "posix/Europe/Paris", "localtime",
    ])
    func rejectedNames(text: String) {
        let error = dateError { try MQLTimeZone(parsing: text) }
        #expect(error?.code == 40485)
        #expect(error?.message.hasPrefix("unrecognized time zone identifier: \"\(text)\"") == true)
    }

    @Test func rejectionSaysWhatIsAccepted() {
        let error = dateError { try MQLTimeZone(parsing: "America/Invalid") }
        #expect(
            error?.message
                == "unrecognized time zone identifier: \"America/Invalid\" (expected \"UTC\", \"GMT\", an Olson name "
                + "such as \"Europe/Paris\" or \"America/New_York\" (case-sensitive), or a UTC offset \"+HH\", "
                + "\"+HHMM\" or \"+HH:MM\", e.g. \"+04:30\", \"-0800\", \"+03\")")
    }

    @Test func olsonZonesAreSharedPerName() throws {
        let a = try MQLTimeZone(parsing: "Asia/Tokyo"), b = try MQLTimeZone(parsing: "Asia/Tokyo")
        guard case .olson(let za) = a.kind, case .olson(let zb) = b.kind else {
            Issue.record("not Olson zones")
            return
        }
        #expect(za === zb)
    }

    // The DST rule for wall-clock times that happen twice or never (see MQLTimeZone).
    @Test func ambiguousLocalTimeResolvesToTheEarlierInstant() {
        #expect(MQLDates.fromParts(year: 2021, month: 11, day: 7, hour: 1, minute: 30, second: 0, millisecond: 0, in: newYork)
            == utc("2021-11-07T05:30:00Z"))
        let paris = zone("Europe/Paris")
        #expect(MQLDates.fromParts(year: 2021, month: 10, day: 31, hour: 2, minute: 30, second: 0, millisecond: 0, in: paris)
            == utc("2021-10-31T00:30:00Z"))
    }

    @Test func nonexistentLocalTimeMovesForwardByTheGap() {
        #expect(MQLDates.fromParts(year: 2021, month: 3, day: 14, hour: 2, minute: 30, second: 0, millisecond: 0, in: newYork)
            == utc("2021-03-14T07:30:00Z"))  // 03:30 EDT
        let paris = zone("Europe/Paris")
        #expect(MQLDates.fromParts(year: 2021, month: 3, day: 28, hour: 2, minute: 30, second: 0, millisecond: 0, in: paris)
            == utc("2021-03-28T01:30:00Z"))  // 03:30 CEST
        // Just outside the gap and overlap nothing moves.
        #expect(MQLDates.fromParts(year: 2021, month: 3, day: 14, hour: 3, minute: 0, second: 0, millisecond: 0, in: newYork)
            == utc("2021-03-14T07:00:00Z"))
        #expect(MQLDates.fromParts(year: 2021, month: 11, day: 7, hour: 2, minute: 0, second: 0, millisecond: 0, in: newYork)
            == utc("2021-11-07T07:00:00Z"))
    }

    @Test(arguments: [
        ("monday", MQLWeekday.monday), ("MON", .monday), ("Sun", .sunday), ("sunday", .sunday), ("tue", .tuesday),
        ("Wednesday", .wednesday), ("thu", .thursday), ("FRIDAY", .friday), ("sat", .saturday),
    ])
    func weekdayNames(name: String, day: MQLWeekday) {
        #expect(MQLWeekday(name: name) == day)
    }

    @Test func weekdayNamesRejected() {
        for name in ["mo", "FRIDIE", "", "monday ", "1"] { #expect(MQLWeekday(name: name) == nil) }
    }

    @Test func unitNames() {
        #expect(MQLDateUnit(rawValue: "quarter") == .quarter)
        #expect(MQLDateUnit(rawValue: "Hour") == nil)  // MongoDB's unit names are exact
        #expect(MQLDateUnit.allCases.count == 9)
    }
}
