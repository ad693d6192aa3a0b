import Testing

@testable import FerryMQL

@Suite("Dates: $year … $isoDayOfWeek and $dateToParts")
struct DatePartsTests {
    private func parts(
        _ y: Int, _ mo: Int, _ d: Int, _ h: Int, _ mi: Int, _ s: Int, _ ms: Int,
        doy: Int, dow: Int, week: Int, iso: (Int, Int, Int)
    ) -> MQLDateParts {
        MQLDateParts(
            year: y, month: mo, day: d, hour: h, minute: mi, second: s, millisecond: ms,
            dayOfYear: doy, dayOfWeek: dow, week: week, isoWeekYear: iso.0, isoWeek: iso.1, isoDayOfWeek: iso.2)
    }

    @Test func mongoDocsDateToPartsExample() {
        let date = utc("2017-01-01T01:29:09.123Z")
        #expect(MQLDates.parts(date, in: .utc) == parts(2017, 1, 1, 1, 29, 9, 123, doy: 1, dow: 1, week: 1, iso: (2016, 52, 7)))
        #expect(
            MQLDates.parts(date, in: newYork)
                == parts(2016, 12, 31, 20, 29, 9, 123, doy: 366, dow: 7, week: 52, iso: (2016, 52, 6)))
    }

    @Test func weeksAroundYearBoundaries() {
        // 2016-01-01 is a Friday: $week 0 (before the first Sunday), ISO week 53 of 2015.
        #expect(MQLDates.parts(utc("2016-01-01T00:00:00Z"), in: .utc)
            == parts(2016, 1, 1, 0, 0, 0, 0, doy: 1, dow: 6, week: 0, iso: (2015, 53, 5)))
        #expect(MQLDates.parts(utc("2016-01-03T12:00:00Z"), in: .utc).week == 1)  // first Sunday
        #expect(MQLDates.parts(utc("2016-01-04T00:00:00Z"), in: .utc).isoWeek == 1)  // first Monday
        // 2020-12-31, a Thursday in a leap year: day 366, ISO week 53 of 2020.
        #expect(MQLDates.parts(utc("2020-12-31T23:59:59.999Z"), in: .utc)
            == parts(2020, 12, 31, 23, 59, 59, 999, doy: 366, dow: 5, week: 52, iso: (2020, 53, 4)))
        #expect(MQLDates.parts(utc("2021-01-01T00:00:00Z"), in: .utc)
            == parts(2021, 1, 1, 0, 0, 0, 0, doy: 1, dow: 6, week: 0, iso: (2020, 53, 5)))
        // 2014-12-29, a Monday, already belongs to ISO week 1 of 2015.
        let p = MQLDates.parts(utc("2014-12-29T00:00:00Z"), in: .utc)
        #expect([p.isoWeekYear, p.isoWeek, p.isoDayOfWeek] == [2015, 1, 1])
    }

    @Test func leapDay() {
        #expect(MQLDates.parts(utc("2024-02-29T10:20:30.040Z"), in: .utc)
            == parts(2024, 2, 29, 10, 20, 30, 40, doy: 60, dow: 5, week: 8, iso: (2024, 9, 4)))
        #expect(MQLDates.parts(utc("2023-03-01T00:00:00Z"), in: .utc).dayOfYear == 60)
        #expect(MQLDates.parts(utc("2024-12-31T00:00:00Z"), in: .utc).dayOfYear == 366)
    }

    @Test func beforeTheEpoch() {
        #expect(MQLDates.parts(-1, in: .utc)
            == parts(1969, 12, 31, 23, 59, 59, 999, doy: 365, dow: 4, week: 52, iso: (1970, 1, 3)))
        let p = MQLDates.parts(utc("1900-02-28T00:00:00.001Z"), in: .utc)  // 1900 is not a leap year
        #expect([p.year, p.month, p.day, p.dayOfYear, p.millisecond] == [1900, 2, 28, 59, 1])
        #expect(MQLDates.parts(utc("1900-03-01T00:00:00Z"), in: .utc).dayOfYear == 60)
    }

    @Test func farFuture() {
        #expect(MQLDates.parts(253_402_300_799_999, in: .utc)
            == parts(9999, 12, 31, 23, 59, 59, 999, doy: 365, dow: 6, week: 52, iso: (9999, 52, 5)))
        #expect(MQLDates.parts(253_402_300_800_000, in: .utc).year == 10000)
    }

    @Test func newYorkAcrossDaylightSavingChanges() {
        // Spring forward 2021-03-14: 01:59:59 EST is followed by 03:00:00 EDT.
        let beforeSpring = MQLDates.parts(utc("2021-03-14T06:59:59Z"), in: newYork)
        let afterSpring = MQLDates.parts(utc("2021-03-14T07:00:00Z"), in: newYork)
        #expect([beforeSpring.hour, beforeSpring.minute, beforeSpring.second] == [1, 59, 59])
        #expect([afterSpring.hour, afterSpring.minute, afterSpring.second] == [3, 0, 0])
        // Fall back 2021-11-07: 01:30 happens twice, at 05:30Z (EDT) and 06:30Z (EST).
        #expect(MQLDates.parts(utc("2021-11-07T05:30:00Z"), in: newYork).hour == 1)
        #expect(MQLDates.parts(utc("2021-11-07T06:30:00Z"), in: newYork).hour == 1)
        #expect(MQLDates.parts(utc("2021-11-07T07:00:00Z"), in: newYork).hour == 2)
        // The local date differs from UTC's in the evening.
        let evening = MQLDates.parts(utc("2021-07-01T03:00:00Z"), in: newYork)
        #expect([evening.month, evening.day, evening.hour] == [6, 30, 23])
    }

    @Test func quarterAndThreeQuarterHourZones() {
        let kathmanduParts = MQLDates.parts(utc("2020-01-01T00:00:00Z"), in: kathmandu)
        #expect([kathmanduParts.hour, kathmanduParts.minute] == [5, 45])
        let indiaParts = MQLDates.parts(utc("2020-12-31T18:29:59.999Z"), in: india)
        #expect([indiaParts.year, indiaParts.month, indiaParts.day, indiaParts.hour, indiaParts.minute] == [2020, 12, 31, 23, 59])
        let newYear = MQLDates.parts(utc("2020-12-31T18:30:00Z"), in: india)
        #expect([newYear.year, newYear.month, newYear.day, newYear.hour, newYear.dayOfWeek] == [2021, 1, 1, 0, 6])
        let west = MQLDates.parts(utc("2020-01-01T03:00:00Z"), in: zone("-0800"))
        #expect([west.year, west.month, west.day, west.hour] == [2019, 12, 31, 19])
    }
}
