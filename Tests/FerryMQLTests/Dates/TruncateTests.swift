import Testing

@testable import FerryMQL

@Suite("Dates: $dateTrunc")
struct TruncateTests {
    private func trunc(
        _ date: String, _ unit: MQLDateUnit, _ binSize: Int64 = 1, in zone: MQLTimeZone = .utc,
        startOfWeek: MQLWeekday = .sunday
    ) -> Int64 {
        MQLDates.truncate(utc(date), unit: unit, binSize: binSize, in: zone, startOfWeek: startOfWeek)
    }

    @Test(arguments: [
        ("2020-05-18T14:10:30Z", "2020-05-11T07:00:00Z"), ("2021-03-20T11:30:05Z", "2021-03-15T07:00:00Z"),
        ("2021-01-11T06:31:15Z", "2021-01-04T08:00:00Z"), ("2020-02-08T13:13:23Z", "2020-02-03T08:00:00Z"),
        ("2019-05-18T16:09:01Z", "2019-05-13T07:00:00Z"), ("2019-01-08T06:12:03Z", "2019-01-07T08:00:00Z"),
    ])
    func mongoDocsTwoWeekBinsInLosAngeles(orderDate: String, truncated: String) {
        #expect(trunc(orderDate, .week, 2, in: zone("America/Los_Angeles"), startOfWeek: .monday) == utc(truncated))
    }

    @Test func mongoDocsSixMonthBins() {
        #expect(trunc("2019-05-18T16:09:01Z", .month, 6) == utc("2019-01-01T00:00:00Z"))
        #expect(trunc("2019-08-18T16:09:01Z", .month, 6) == utc("2019-07-01T00:00:00Z"))
        #expect(trunc("2021-03-20T11:30:05Z", .month, 6) == utc("2021-01-01T00:00:00Z"))
    }

    @Test func mongoTestSuiteVectors() {
        #expect(trunc("2020-11-01T18:23:36Z", .hour, 2) == utc("2020-11-01T18:00:00Z"))
        #expect(trunc("2021-12-01T18:23:36Z", .hour, 4, in: newYork) == utc("2021-12-01T17:00:00Z"))
        #expect(trunc("2021-02-15T18:23:36Z", .week) == utc("2021-02-14T00:00:00Z"))
        #expect(trunc("2000-01-30T18:00:00Z", .week, 2, in: newYork, startOfWeek: .monday) == utc("2000-01-17T05:00:00Z"))
        #expect(trunc("2012-10-15T21:26:17Z", .minute, 10) == utc("2012-10-15T21:20:00Z"))
        #expect(trunc("2012-10-15T21:26:17Z", .second, 10) == utc("2012-10-15T21:26:10Z"))
        #expect(trunc("2020-01-30T18:59:00Z", .minute, 15) == utc("2020-01-30T18:45:00Z"))
        #expect(trunc("2020-01-30T18:59:00Z", .day) == utc("2020-01-30T00:00:00Z"))
        #expect(trunc("2020-01-30T18:59:00.003Z", .millisecond, 1000) == utc("2020-01-30T18:59:00Z"))
        #expect(trunc("2020-01-30T18:59:00Z", .year, in: zone("GMT")) == utc("2020-01-01T00:00:00Z"))
    }

    @Test func everyUnitInUTC() {
        let date = "2021-08-15T13:47:29.987Z"  // a Sunday
        #expect(trunc(date, .year) == utc("2021-01-01T00:00:00Z"))
        #expect(trunc(date, .quarter) == utc("2021-07-01T00:00:00Z"))
        #expect(trunc(date, .month) == utc("2021-08-01T00:00:00Z"))
        #expect(trunc(date, .week) == utc("2021-08-15T00:00:00Z"))
        #expect(trunc(date, .day) == utc("2021-08-15T00:00:00Z"))
        #expect(trunc(date, .hour) == utc("2021-08-15T13:00:00Z"))
        #expect(trunc(date, .minute) == utc("2021-08-15T13:47:00Z"))
        #expect(trunc(date, .second) == utc("2021-08-15T13:47:29Z"))
        #expect(trunc(date, .millisecond) == utc(date))
    }

    @Test func binsAlignToTheYear2000() {
        #expect(trunc("2023-06-01T00:00:00Z", .year, 5) == utc("2020-01-01T00:00:00Z"))
        #expect(trunc("1997-06-01T00:00:00Z", .year, 5) == utc("1995-01-01T00:00:00Z"))
        #expect(trunc("2021-08-15T00:00:00Z", .quarter, 2) == utc("2021-07-01T00:00:00Z"))
        #expect(trunc("2021-05-15T00:00:00Z", .quarter, 3) == utc("2021-01-01T00:00:00Z"))  // 9-month bins from 2000-01
        #expect(trunc("2000-01-05T00:00:00Z", .day, 7) == utc("2000-01-01T00:00:00Z"))
        #expect(trunc("1999-12-31T12:00:00Z", .day, 7) == utc("1999-12-25T00:00:00Z"))
        #expect(trunc("2021-08-15T13:47:29Z", .hour, 5) == utc("2021-08-15T12:00:00Z"))
        #expect(trunc("2021-08-15T13:47:29Z", .minute, 7) == utc("2021-08-15T13:41:00Z"))
    }

    @Test func beforeTheEpoch() {
        #expect(MQLDates.truncate(-1, unit: .hour, binSize: 1, in: .utc, startOfWeek: .sunday) == -3_600_000)
        #expect(MQLDates.truncate(-1, unit: .second, binSize: 1, in: .utc, startOfWeek: .sunday) == -1000)
        #expect(MQLDates.truncate(-1, unit: .day, binSize: 1, in: .utc, startOfWeek: .sunday) == -86_400_000)
        #expect(trunc("1969-12-31T23:59:59.999Z", .month, 6) == utc("1969-07-01T00:00:00Z"))
        #expect(trunc("1969-12-31T23:59:59.999Z", .week) == utc("1969-12-28T00:00:00Z"))
        #expect(trunc("1900-03-01T11:00:00Z", .quarter) == utc("1900-01-01T00:00:00Z"))
    }

    @Test func startOfWeek() {
        let wednesday = "2021-02-17T10:00:00Z"
        #expect(trunc(wednesday, .week, startOfWeek: .sunday) == utc("2021-02-14T00:00:00Z"))
        #expect(trunc(wednesday, .week, startOfWeek: .monday) == utc("2021-02-15T00:00:00Z"))
        #expect(trunc(wednesday, .week, startOfWeek: .wednesday) == utc("2021-02-17T00:00:00Z"))
        #expect(trunc(wednesday, .week, startOfWeek: .thursday) == utc("2021-02-11T00:00:00Z"))
        #expect(trunc(wednesday, .week, startOfWeek: .saturday) == utc("2021-02-13T00:00:00Z"))
        // startOfWeek is ignored for other units.
        #expect(trunc(wednesday, .month, startOfWeek: .friday) == utc("2021-02-01T00:00:00Z"))
    }

    @Test func newYorkAcrossDaylightSavingChanges() {
        // Hours are absolute: both 01:30s of 2021-11-07 start their own hour.
        #expect(trunc("2021-11-07T05:30:00Z", .hour, in: newYork) == utc("2021-11-07T05:00:00Z"))
        #expect(trunc("2021-11-07T06:30:00Z", .hour, in: newYork) == utc("2021-11-07T06:00:00Z"))
        // Days are local midnights, whatever the offset that day.
        #expect(trunc("2021-11-07T12:00:00Z", .day, in: newYork) == utc("2021-11-07T04:00:00Z"))
        #expect(trunc("2021-11-08T12:00:00Z", .day, in: newYork) == utc("2021-11-08T05:00:00Z"))
        #expect(trunc("2021-03-14T12:00:00Z", .day, in: newYork) == utc("2021-03-14T05:00:00Z"))
        #expect(trunc("2021-03-15T03:00:00Z", .day, in: newYork) == utc("2021-03-14T05:00:00Z"))  // 23:00 EDT
        #expect(trunc("2021-07-04T03:00:00Z", .month, in: newYork) == utc("2021-07-01T04:00:00Z"))
        #expect(trunc("2021-07-01T03:00:00Z", .month, in: newYork) == utc("2021-06-01T04:00:00Z"))  // June 30, 23:00
        #expect(trunc("2021-07-04T03:00:00Z", .year, in: newYork) == utc("2021-01-01T05:00:00Z"))
    }

    @Test func fractionalOffsetZones() {
        // Kathmandu was +05:45 on 2000-01-01, so its hour bins start at :15 UTC.
        #expect(trunc("2020-06-15T10:20:00Z", .hour, in: kathmandu) == utc("2020-06-15T10:15:00Z"))
        #expect(trunc("2020-06-15T10:20:00Z", .day, in: kathmandu) == utc("2020-06-14T18:15:00Z"))
        #expect(trunc("2020-06-15T20:00:00Z", .day, in: india) == utc("2020-06-15T18:30:00Z"))
        #expect(trunc("2020-06-15T20:00:00Z", .hour, in: india) == utc("2020-06-15T19:30:00Z"))
        #expect(trunc("2020-06-15T20:10:00Z", .minute, 45, in: india) == utc("2020-06-15T20:00:00Z"))
    }

    @Test func checkedTruncateReportsMongoErrors() throws {
        #expect(dateError { try MQLDates.checkedTruncate(0, unit: .hour, binSize: 0, in: .utc, startOfWeek: .sunday) }
            == MQLDateError(code: 5_439_005, message: "expected binSize > 0"))
        #expect(dateError {
            try MQLDates.checkedTruncate(0, unit: .day, binSize: 100_000_000_001, in: .utc, startOfWeek: .sunday)
        } == MQLDateError(code: 5_439_006, message: "dateTrunc unsupported binSize value"))
        #expect(dateError { try MQLDates.checkedTruncate(.min, unit: .hour, binSize: 1, in: .utc, startOfWeek: .sunday) }
            == MQLDateError(code: 5_439_000, message: "dateTrunc overflowed"))
        #expect(dateError {
            try MQLDates.checkedTruncate(0, unit: .hour, binSize: .max, in: .utc, startOfWeek: .sunday)
        }?.message == "dateTrunc overflowed")
        #expect(try MQLDates.checkedTruncate(utc("2021-08-15T13:47:29Z"), unit: .day, binSize: 100_000_000_000, in: .utc,
            startOfWeek: .sunday) == utc("2000-01-01T00:00:00Z"))
        // The unchecked form clamps binSize and saturates.
        #expect(MQLDates.truncate(utc("2021-08-15T13:47:29Z"), unit: .hour, binSize: 0, in: .utc, startOfWeek: .sunday)
            == utc("2021-08-15T13:00:00Z"))
        #expect(MQLDates.truncate(.min, unit: .hour, binSize: 1, in: .utc, startOfWeek: .sunday) == .min)
    }

    @Test func agreesWithCalendarDefinitionOverManyInstants() {
        // Truncating to a day must give local midnight of the same local date, for every zone.
        for tz in [MQLTimeZone.utc, newYork, kathmandu, india, zone("Australia/Lord_Howe")] {
            for ms in stride(from: Int64(-1_000_000_000_000), through: 2_000_000_000_000, by: 3_333_333_333) {
                let start = MQLDates.truncate(ms, unit: .day, binSize: 1, in: tz, startOfWeek: .sunday)
                let p = MQLDates.parts(ms, in: tz), s = MQLDates.parts(start, in: tz)
                #expect([s.year, s.month, s.day] == [p.year, p.month, p.day], "\(tz) \(ms)")
                #expect(start <= ms)
            }
        }
    }
}
