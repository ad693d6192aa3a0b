import Testing

@testable import FerryMQL

@Suite("Dates: $dateDiff")
struct DiffTests {
    private func diff(
        _ start: String, _ end: String, _ unit: MQLDateUnit, in zone: MQLTimeZone = .utc,
        startOfWeek: MQLWeekday = .sunday
    ) -> Int64 {
        MQLDates.diff(start: utc(start), end: utc(end), unit: unit, in: zone, startOfWeek: startOfWeek)
    }

    @Test func mongoTestSuiteVectors() {
        #expect(diff("2020-11-01T18:23:36Z", "2020-11-02T00:00:00Z", .hour) == 6)
        #expect(diff("2020-11-01T18:23:36Z", "2020-11-02T00:00:00Z", .hour, in: newYork) == 6)
        #expect(diff("2021-01-24T18:23:36Z", "2021-01-25T02:23:36Z", .week, in: zone("GMT"), startOfWeek: .monday) == 1)
        #expect(diff("2021-01-24T18:23:36Z", "2021-01-25T02:23:36Z", .week) == 0)
        #expect(diff("2021-01-17T05:00:00Z", "2021-01-17T04:59:00Z", .week, in: newYork) == -1)
    }

    @Test func countsBoundariesNotElapsedTime() {
        let (a, b) = ("2020-12-31T23:59:00Z", "2021-01-01T00:00:00Z")
        #expect(diff(a, b, .year) == 1)
        #expect(diff(a, b, .quarter) == 1)
        #expect(diff(a, b, .month) == 1)
        #expect(diff(a, b, .day) == 1)
        #expect(diff(a, b, .hour) == 1)
        #expect(diff(a, b, .minute) == 1)
        #expect(diff(a, b, .second) == 60)
        #expect(diff(a, b, .millisecond) == 60_000)
        #expect(diff("2021-01-01T00:00:00Z", "2021-12-31T23:59:59.999Z", .year) == 0)
        #expect(diff("2021-01-31T00:00:00Z", "2021-02-01T00:00:00Z", .month) == 1)
        #expect(diff("2021-01-01T00:00:00Z", "2021-01-31T00:00:00Z", .month) == 0)
        #expect(diff("2021-03-31T00:00:00Z", "2021-04-01T00:00:00Z", .quarter) == 1)
        #expect(diff("2021-01-01T00:00:00Z", "2021-03-31T00:00:00Z", .quarter) == 0)
        #expect(diff("2021-01-01T10:59:59.999Z", "2021-01-01T11:00:00Z", .hour) == 1)
        #expect(diff("2021-01-01T10:00:00Z", "2021-01-01T10:59:59.999Z", .hour) == 0)
        #expect(diff("2021-01-01T10:00:00.999Z", "2021-01-01T10:00:01Z", .second) == 1)
    }

    @Test func negativeWhenEndPrecedesStart() {
        #expect(diff("2021-01-01T00:00:00Z", "2020-12-31T23:59:00Z", .year) == -1)
        #expect(diff("2021-03-01T00:00:00Z", "2019-12-31T00:00:00Z", .month) == -15)
        #expect(diff("2021-02-14T00:00:00Z", "2021-02-13T00:00:00Z", .week) == -1)
        #expect(diff("1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999Z", .day) == -1)
        #expect(MQLDates.diff(start: 0, end: -1, unit: .millisecond, in: .utc, startOfWeek: .sunday) == -1)
    }

    @Test func weeksStartOnStartOfWeek() {
        // 2021-02-13 is a Saturday, 2021-02-14 a Sunday, 2021-02-15 a Monday.
        #expect(diff("2021-02-13T12:00:00Z", "2021-02-14T12:00:00Z", .week, startOfWeek: .sunday) == 1)
        #expect(diff("2021-02-13T12:00:00Z", "2021-02-14T12:00:00Z", .week, startOfWeek: .monday) == 0)
        #expect(diff("2021-02-14T12:00:00Z", "2021-02-15T12:00:00Z", .week, startOfWeek: .sunday) == 0)
        #expect(diff("2021-02-14T12:00:00Z", "2021-02-15T12:00:00Z", .week, startOfWeek: .monday) == 1)
        #expect(diff("2021-02-15T00:00:00Z", "2021-02-21T23:59:59Z", .week, startOfWeek: .monday) == 0)
        #expect(diff("2021-02-15T00:00:00Z", "2021-03-01T00:00:00Z", .week, startOfWeek: .monday) == 2)
        #expect(diff("2021-02-13T00:00:00Z", "2021-03-01T00:00:00Z", .week, startOfWeek: .saturday) == 2)
        #expect(diff("2021-02-13T00:00:00Z", "2021-03-01T00:00:00Z", .week, startOfWeek: .tuesday) == 2)
    }

    @Test func theZoneDecidesWhichDayItIs() {
        // 03:00Z and 06:00Z on Jan 1 are Dec 31 22:00 and Jan 1 01:00 in New York.
        #expect(diff("2021-01-01T03:00:00Z", "2021-01-01T06:00:00Z", .day) == 0)
        #expect(diff("2021-01-01T03:00:00Z", "2021-01-01T06:00:00Z", .day, in: newYork) == 1)
        #expect(diff("2021-01-01T03:00:00Z", "2021-01-01T06:00:00Z", .year, in: newYork) == 1)
        #expect(diff("2020-12-31T18:00:00Z", "2020-12-31T19:00:00Z", .year, in: india) == 1)  // 23:30 → 00:30
        #expect(diff("2020-12-31T18:00:00Z", "2020-12-31T18:29:00Z", .hour, in: india) == 0)  // 23:30 → 23:59
        #expect(diff("2020-12-31T18:00:00Z", "2020-12-31T18:30:00Z", .hour, in: india) == 1)
        #expect(diff("2020-12-31T18:00:00Z", "2020-12-31T18:30:00Z", .hour) == 0)
    }

    @Test func newYorkAcrossDaylightSavingChanges() {
        // 01:30 EDT → 01:10 EST is 40 minutes and crosses the 06:00Z hour boundary once.
        #expect(diff("2021-11-07T05:30:00Z", "2021-11-07T06:10:00Z", .hour, in: newYork) == 1)
        #expect(diff("2021-11-07T05:30:00Z", "2021-11-07T06:10:00Z", .minute, in: newYork) == 40)
        #expect(diff("2021-11-07T05:30:00Z", "2021-11-07T06:10:00Z", .second, in: newYork) == 2400)
        // 00:00 EDT → 00:00 EST next day is 25 hours, one day.
        #expect(diff("2021-11-07T04:00:00Z", "2021-11-08T05:00:00Z", .hour, in: newYork) == 25)
        #expect(diff("2021-11-07T04:00:00Z", "2021-11-08T05:00:00Z", .day, in: newYork) == 1)
        // 01:59 EST → 03:00 EDT is one minute, one hour boundary.
        #expect(diff("2021-03-14T06:59:00Z", "2021-03-14T07:00:00Z", .minute, in: newYork) == 1)
        #expect(diff("2021-03-14T06:59:00Z", "2021-03-14T07:00:00Z", .hour, in: newYork) == 1)
        #expect(diff("2021-03-13T12:00:00Z", "2021-03-14T12:00:00Z", .day, in: newYork) == 1)
        #expect(diff("2021-03-13T12:00:00Z", "2021-03-14T12:00:00Z", .hour, in: newYork) == 24)
    }

    @Test func longSpans() {
        #expect(diff("0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z", .year) == 9998)
        #expect(diff("0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z", .day) == 3_652_058)
        #expect(diff("1969-07-20T20:17:00Z", "2019-07-20T20:17:00Z", .month) == 600)
        #expect(MQLDates.diff(start: .min, end: .max, unit: .day, in: .utc, startOfWeek: .sunday) == 213_503_982_335)
    }

    @Test func millisecondOverflow() throws {
        #expect(MQLDates.diff(start: .min, end: .max, unit: .millisecond, in: .utc, startOfWeek: .sunday) == .max)
        #expect(MQLDates.diff(start: .max, end: .min, unit: .millisecond, in: .utc, startOfWeek: .sunday) == .min)
        #expect(dateError {
            try MQLDates.checkedDiff(start: .min, end: .max, unit: .millisecond, in: .utc, startOfWeek: .sunday)
        } == MQLDateError(code: 5_166_308, message: "dateDiff overflowed"))
        #expect(try MQLDates.checkedDiff(start: 5, end: 2, unit: .millisecond, in: .utc, startOfWeek: .sunday) == -3)
    }

    @Test func addThenDiffIsTheAmount() {
        let start = utc("2021-01-31T12:00:00Z")
        for unit in MQLDateUnit.allCases where unit != .millisecond {
            for amount: Int64 in [-25, -1, 0, 1, 7, 100] {
                for zone in [MQLTimeZone.utc, india, newYork] {
                    let end = MQLDates.add(start, unit: unit, amount: amount, in: zone)!
                    // Even when month-end clamping shortens the span (Jan 31 + 1 month = Feb 28).
                    #expect(MQLDates.diff(start: start, end: end, unit: unit, in: zone, startOfWeek: .sunday) == amount,
                        "\(unit) \(amount) \(zone)")
                }
            }
        }
    }
}
