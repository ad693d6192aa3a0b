import Testing

@testable import FerryMQL

@Suite("Dates: $dateAdd and $dateSubtract")
struct AddTests {
    private func add(_ date: String, _ unit: MQLDateUnit, _ amount: Int64, in zone: MQLTimeZone = .utc) -> Int64? {
        MQLDates.add(utc(date), unit: unit, amount: amount, in: zone)
    }

    @Test func mongoDocsExample() {
        #expect(add("2020-10-31T12:10:05Z", .day, 3) == utc("2020-11-03T12:10:05Z"))
    }

    @Test func mongoTestSuiteVectors() {
        let date = "2020-12-31T12:10:05Z"
        let paris = zone("Europe/Paris")
        #expect(add("2020-11-30T12:10:05Z", .day, 1) == utc("2020-12-01T12:10:05Z"))
        #expect(add("2020-10-24T18:10:00Z", .hour, 24, in: paris) == utc("2020-10-25T18:10:00Z"))
        #expect(add("2020-10-24T18:10:00Z", .day, 1, in: paris) == utc("2020-10-25T19:10:00Z"))
        #expect(add("2021-01-30T23:30:00Z", .month, 1, in: paris) == utc("2021-02-27T23:30:00Z"))
        #expect(add(date, .day, 1) == utc("2021-01-01T12:10:05Z"))
        #expect(add(date, .week, 1) == utc("2021-01-07T12:10:05Z"))
        #expect(add(date, .hour, 2) == utc("2020-12-31T14:10:05Z"))
        #expect(add(date, .minute, 50) == utc("2020-12-31T13:00:05Z"))
        #expect(add(date, .millisecond, 1050) == utc("2020-12-31T12:10:06.050Z"))
        #expect(add(date, .month, 1) == utc("2021-01-31T12:10:05Z"))
        #expect(add(date, .hour, 2, in: paris) == utc("2020-12-31T14:10:05Z"))
        #expect(add(date, .year, -1) == utc("2019-12-31T12:10:05Z"))
        #expect(add(date, .quarter, -2) == utc("2020-06-30T12:10:05Z"))
        #expect(add(date, .month, -1) == utc("2020-11-30T12:10:05Z"))
        #expect(add(date, .month, -3, in: paris) == utc("2020-09-30T11:10:05Z"))
        #expect(add(date, .day, -15) == utc("2020-12-16T12:10:05Z"))
        #expect(add(date, .hour, -48) == utc("2020-12-29T12:10:05Z"))
        #expect(add(date, .minute, -15) == utc("2020-12-31T11:55:05Z"))
        #expect(add(date, .second, -125) == utc("2020-12-31T12:08:00Z"))
        #expect(add("2021-01-31T03:00:00Z", .month, -2) == utc("2020-11-30T03:00:00Z"))
        #expect(add("2021-01-31T03:00:00Z", .month, -2, in: newYork) == utc("2020-12-01T03:00:00Z"))
    }

    @Test func monthEndClamping() {
        #expect(add("2024-01-31T10:00:00Z", .month, 1) == utc("2024-02-29T10:00:00Z"))
        #expect(add("2023-01-31T10:00:00Z", .month, 1) == utc("2023-02-28T10:00:00Z"))
        #expect(add("2024-03-31T10:00:00Z", .month, -1) == utc("2024-02-29T10:00:00Z"))  // $dateSubtract 1 month
        #expect(add("2020-10-31T00:00:00Z", .month, 1) == utc("2020-11-30T00:00:00Z"))
        #expect(add("2024-01-31T00:00:00Z", .month, 2) == utc("2024-03-31T00:00:00Z"))  // no clamp carried along
        #expect(add("2024-02-29T00:00:00Z", .year, 1) == utc("2025-02-28T00:00:00Z"))
        #expect(add("2024-02-29T00:00:00Z", .year, 4) == utc("2028-02-29T00:00:00Z"))
        #expect(add("2020-11-30T00:00:00Z", .quarter, 1) == utc("2021-02-28T00:00:00Z"))
        #expect(add("2021-01-15T00:00:00Z", .month, -13) == utc("2019-12-15T00:00:00Z"))
        #expect(add("2021-05-31T00:00:00Z", .quarter, -1) == utc("2021-02-28T00:00:00Z"))
    }

    @Test func clampingUsesTheLocalDate() {
        // 2024-01-31T20:00Z is 2024-02-01 01:30 in +05:30: one month later is March 1 there.
        #expect(add("2024-01-31T20:00:00Z", .month, 1, in: india) == utc("2024-02-29T20:00:00Z"))
        // 2024-01-31T03:00Z is 2024-01-30 22:00 in New York: Feb 30 clamps to Feb 29 22:00 EST.
        #expect(add("2024-01-31T03:00:00Z", .month, 1, in: newYork) == utc("2024-03-01T03:00:00Z"))
        #expect(add("2024-01-31T03:00:00Z", .month, 1) == utc("2024-02-29T03:00:00Z"))
        // Mar 30 23:00 EDT → Feb 29 23:00 EST.
        #expect(add("2024-03-31T03:00:00Z", .month, -1, in: newYork) == utc("2024-03-01T04:00:00Z"))
    }

    @Test func fixedUnits() {
        #expect(add("2021-01-01T00:00:00Z", .hour, 25) == utc("2021-01-02T01:00:00Z"))
        #expect(add("2021-01-01T00:00:00Z", .minute, -1) == utc("2020-12-31T23:59:00Z"))
        #expect(add("2021-01-01T00:00:00Z", .second, 86_400) == utc("2021-01-02T00:00:00Z"))
        #expect(add("2021-01-01T00:00:00Z", .millisecond, -1) == utc("2020-12-31T23:59:59.999Z"))
        #expect(add("2021-01-01T00:00:00Z", .week, 2) == utc("2021-01-15T00:00:00Z"))
        #expect(MQLDates.add(-1, unit: .day, amount: 1, in: .utc) == 86_399_999)
    }

    @Test func newYorkDaysKeepTheWallClockAcrossDST() {
        // 10:00 EST + 1 day = 10:00 EDT, only 23 hours later; + 24 hours is 11:00 EDT.
        #expect(add("2021-03-13T15:00:00Z", .day, 1, in: newYork) == utc("2021-03-14T14:00:00Z"))
        #expect(add("2021-03-13T15:00:00Z", .hour, 24, in: newYork) == utc("2021-03-14T15:00:00Z"))
        #expect(add("2021-11-06T14:00:00Z", .day, 1, in: newYork) == utc("2021-11-07T15:00:00Z"))
        #expect(add("2021-11-06T14:00:00Z", .week, 1, in: newYork) == utc("2021-11-13T15:00:00Z"))
        #expect(add("2021-10-07T14:00:00Z", .month, 1, in: newYork) == utc("2021-11-07T15:00:00Z"))
        #expect(add("2021-11-07T15:00:00Z", .day, -1, in: newYork) == utc("2021-11-06T14:00:00Z"))
        // The example in MongoDB's source: hours are absolute even where 01:50 happens twice.
        #expect(add("2020-11-01T05:50:02Z", .hour, 1, in: newYork) == utc("2020-11-01T06:50:02Z"))
        // Landing in the spring gap (02:30 does not exist on 2021-03-14) moves forward to 03:30 EDT.
        #expect(add("2021-03-13T07:30:00Z", .day, 1, in: newYork) == utc("2021-03-14T07:30:00Z"))
        // Landing in the autumn overlap picks the first 01:30 (EDT).
        #expect(add("2021-11-06T05:30:00Z", .day, 1, in: newYork) == utc("2021-11-07T05:30:00Z"))
        // In UTC a day is always 24 hours.
        #expect(add("2021-03-13T15:00:00Z", .day, 1) == utc("2021-03-14T15:00:00Z"))
    }

    @Test func overflowAndInvalidAmounts() {
        #expect(MQLDates.add(.max, unit: .millisecond, amount: 1, in: .utc) == nil)
        #expect(MQLDates.add(.min, unit: .second, amount: -1, in: .utc) == nil)
        #expect(MQLDates.add(0, unit: .year, amount: 300_000_000, in: .utc) == nil)
        #expect(MQLDates.add(0, unit: .year, amount: 290_000_000, in: .utc) != nil)
        #expect(MQLDates.add(0, unit: .day, amount: 106_751_991_167, in: .utc) == 9_223_372_036_828_800_000)
        #expect(MQLDates.add(0, unit: .day, amount: 106_751_991_168, in: .utc) == nil)
        #expect(dateError { try MQLDates.checkedAdd(0, unit: .year, amount: 600_000_000, in: .utc) }
            == MQLDateError(code: 5_976_500, message: "invalid dateAdd 'amount' parameter value: 600000000 year"))
        #expect(dateError { try MQLDates.checkedAdd(0, unit: .hour, amount: .min, in: .utc) }?.code == 5_976_500)
        #expect(dateError { try MQLDates.checkedAdd(.max, unit: .second, amount: 1, in: .utc) }
            == MQLDateError(code: 5_166_406, message: "dateAdd overflowed"))
        #expect(MQLDates.add(0, unit: .millisecond, amount: .max, in: .utc) == .max)
    }

    @Test func subtractThenAddRoundTrips() {
        for unit in [MQLDateUnit.week, .day, .hour, .minute, .second, .millisecond] {
            for zone in [MQLTimeZone.utc, india, kathmandu] {
                let start = utc("2023-05-17T08:09:10.011Z")
                let there = MQLDates.add(start, unit: unit, amount: 1000, in: zone)!
                #expect(MQLDates.add(there, unit: unit, amount: -1000, in: zone) == start, "\(unit) \(zone)")
            }
        }
    }
}
