import Testing

@testable import FerryMQL

@Suite("Dates: $dateFromParts")
struct FromPartsTests {
    private func from(
        _ y: Int, _ mo: Int, _ d: Int, _ h: Int = 0, _ mi: Int = 0, _ s: Int = 0, _ ms: Int = 0,
        in zone: MQLTimeZone = .utc
    ) -> Int64 {
        MQLDates.fromParts(year: y, month: mo, day: d, hour: h, minute: mi, second: s, millisecond: ms, in: zone)
    }

    @Test func mongoDocsExamples() {
        #expect(from(2017, 2, 8, 12) == utc("2017-02-08T12:00:00Z"))
        #expect(from(2017, 2, 8, 12, in: newYork) == utc("2017-02-08T17:00:00Z"))
        #expect(
            MQLDates.fromISOParts(
                isoWeekYear: 2017, isoWeek: 6, isoDayOfWeek: 3, hour: 12, minute: 0, second: 0, millisecond: 0, in: .utc)
                == utc("2017-02-08T12:00:00Z"))
        // "Values out of range" in the docs: months carry into years.
        #expect(from(2017, 14, 1, 12) == utc("2018-02-01T12:00:00Z"))
        #expect(from(2017, 0, 1, 12) == utc("2016-12-01T12:00:00Z"))
    }

    @Test func everyFieldCarries() {
        #expect(from(2016, 14, 1) == utc("2017-02-01T00:00:00Z"))
        #expect(from(2017, -11, 1) == utc("2016-01-01T00:00:00Z"))
        #expect(from(2017, -12, 1) == utc("2015-12-01T00:00:00Z"))
        #expect(from(2024, 3, 0) == utc("2024-02-29T00:00:00Z"))  // day 0: last day of the previous month
        #expect(from(2023, 3, 0) == utc("2023-02-28T00:00:00Z"))
        #expect(from(2024, 1, 32) == utc("2024-02-01T00:00:00Z"))
        #expect(from(2024, 1, -1) == utc("2023-12-30T00:00:00Z"))
        #expect(from(2024, 1, 366) == utc("2024-12-31T00:00:00Z"))
        #expect(from(2024, 1, 1, 24) == utc("2024-01-02T00:00:00Z"))
        #expect(from(2024, 1, 1, -1) == utc("2023-12-31T23:00:00Z"))
        #expect(from(2024, 1, 1, 0, 90) == utc("2024-01-01T01:30:00Z"))
        #expect(from(2024, 1, 1, 0, 0, -1) == utc("2023-12-31T23:59:59Z"))
        #expect(from(2024, 1, 1, 0, 0, 0, 32_767) == utc("2024-01-01T00:00:32.767Z"))
        #expect(from(2024, 1, 1, 0, 0, 0, -32_768) == utc("2023-12-31T23:59:27.232Z"))
        #expect(from(2017, 32_767, 32_767, 32_767, 32_767, 32_767, 32_767) == utc("4841-01-02T10:13:39.767Z"))
    }

    @Test func negativeEpochsAndTheYearRange() {
        #expect(from(1969, 12, 31, 23, 59, 59, 999) == -1)
        #expect(from(1, 1, 1) == -62_135_596_800_000)
        #expect(from(9999, 12, 31, 23, 59, 59, 999) == 253_402_300_799_999)
        #expect(from(0, 1, 1) == -62_167_219_200_000)  // year 0 is a leap year, 366 days before year 1
        #expect(from(1900, 2, 29) == utc("1900-03-01T00:00:00Z"))
    }

    @Test func zones() {
        #expect(from(2020, 1, 1, in: kathmandu) == utc("2019-12-31T18:15:00Z"))
        #expect(from(2020, 1, 1, in: india) == utc("2019-12-31T18:30:00Z"))
        #expect(from(2021, 7, 4, 12, in: newYork) == utc("2021-07-04T16:00:00Z"))  // EDT
        #expect(from(1960, 7, 10, 12, 35, 37, 513, in: zone("Europe/London")) == utc("1960-07-10T11:35:37.513Z"))
    }

    @Test func isoWeekDates() {
        func iso(_ y: Int, _ w: Int, _ d: Int, in zone: MQLTimeZone = .utc) -> Int64 {
            MQLDates.fromISOParts(isoWeekYear: y, isoWeek: w, isoDayOfWeek: d, hour: 0, minute: 0, second: 0, millisecond: 0, in: zone)
        }
        #expect(iso(2017, 1, 1) == utc("2017-01-02T00:00:00Z"))
        #expect(iso(2017, 53, 1) == utc("2018-01-01T00:00:00Z"))  // 2017 has 52 ISO weeks: carries
        #expect(iso(2017, 53, 7) == utc("2018-01-07T00:00:00Z"))
        #expect(iso(2015, 53, 5) == utc("2016-01-01T00:00:00Z"))
        #expect(iso(2020, 53, 4) == utc("2020-12-31T00:00:00Z"))
        #expect(iso(2009, 1, 1) == utc("2008-12-29T00:00:00Z"))
        #expect(iso(1, 1, 1) == utc("0001-01-01T00:00:00Z"))
        #expect(iso(2017, 1, 0) == utc("2017-01-01T00:00:00Z"))
        #expect(iso(2021, 1, 1, in: newYork) == utc("2021-01-04T05:00:00Z"))
    }

    @Test func partsRoundTrip() {
        for zone in [MQLTimeZone.utc, newYork, kathmandu, india] {
            for ms in stride(from: Int64(-2_000_000_000_000), through: 4_000_000_000_000, by: 7_777_777_777) {
                let p = MQLDates.parts(ms, in: zone)
                let back = MQLDates.fromParts(
                    year: p.year, month: p.month, day: p.day, hour: p.hour, minute: p.minute, second: p.second,
                    millisecond: p.millisecond, in: zone)
                let isoBack = MQLDates.fromISOParts(
                    isoWeekYear: p.isoWeekYear, isoWeek: p.isoWeek, isoDayOfWeek: p.isoDayOfWeek, hour: p.hour,
                    minute: p.minute, second: p.second, millisecond: p.millisecond, in: zone)
                // In an overlap hour the later instant reads back as the earlier one, by the DST rule.
                let inOverlap = back != ms && MQLDates.parts(back, in: zone) == p
                #expect(back == ms || inOverlap, "\(zone) \(ms)")
                #expect(isoBack == back)
            }
        }
    }

    @Test func extremeFieldsSaturateInsteadOfTrapping() {
        #expect(from(Int.max, 1, 1) == .max)
        #expect(from(Int.min, 1, 1) == .min)
        #expect(from(2000, Int.max, Int.max, Int.max, Int.max, Int.max, Int.max) == .max)
        #expect(from(2000, 1, 1, 0, 0, 0, Int.min) == 946_684_800_000 + Int64.min)  // still in range
        #expect(from(1969, 12, 31, 0, 0, 0, Int.min) == .min)
        #expect(from(292_278_994, 8, 17, 7, 12, 55, 807) == .max)
        #expect(from(292_278_994, 8, 17, 7, 12, 55, 808) == .max)  // one past: saturates
    }
}
