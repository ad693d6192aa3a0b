import FerryBSON
import Foundation
import Testing

@testable import FerryMQL

@Suite("Dates: civil calendar arithmetic")
struct CivilCalendarTests {
    @Test func knownDayNumbers() {
        #expect(CivilCalendar.days(year: 1970, month: 1, day: 1) == 0)
        #expect(CivilCalendar.days(year: 2000, month: 1, day: 1) == 10_957)
        #expect(CivilCalendar.days(year: 1969, month: 12, day: 31) == -1)
        #expect(CivilCalendar.days(year: 0, month: 3, day: 1) == -719_468)
        #expect(CivilCalendar.days(year: 1, month: 1, day: 1) == -719_162)
        #expect(CivilCalendar.days(year: 9999, month: 12, day: 31) == 2_932_896)
        let leapDay = CivilCalendar.date(days: 19_782)
        #expect([leapDay.year, leapDay.month, leapDay.day] == [2024, 2, 29])
    }

    @Test func roundTripsEveryDayOverFourThousandYears() {
        for days in Int64(-800_000)...800_000 {
            let (y, m, d) = CivilCalendar.date(days: days)
            guard CivilCalendar.days(year: y, month: m, day: d) == days, (1...CivilCalendar.daysInMonth(year: y, month: m)).contains(d)
            else {
                Issue.record("day \(days) → \(y)-\(m)-\(d)")
                return
            }
        }
    }

    @Test func agreesWithFoundationGregorianCalendar() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "GMT")!
        // Foundation switches to the Julian calendar before 1582; compare from 1600 on.
        for days in stride(from: Int64(-135_000), through: 160_000, by: 37) {
            let c = calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: Double(days) * 86_400))
            let (y, m, d) = CivilCalendar.date(days: days)
            let ours: [Int] = [Int(y), Int(m), Int(d)]
            let foundation: [Int] = [c.year!, c.month!, c.day!]
            #expect(ours == foundation, "day \(days)")
        }
    }

    @Test func fixtureHelperAgreesWithCivilMath() {
        #expect(utc("1970-01-01T00:00:00Z") == 0)
        #expect(utc("1969-12-31T23:59:59.999Z") == -1)
        #expect(utc("2017-07-06T12:35:37.513Z") == 1_499_344_537_513)
        #expect(utc("1960-07-10T12:10:37.448Z") == -299_072_962_552)
        #expect(utc("9999-12-31T23:59:59.999Z") == 253_402_300_799_999)
    }

    @Test func extremesOfTheBSONRangeDoNotTrap() {
        let max = MQLDates.parts(.max, in: .utc)
        let maxFields: [Int] = [max.year, max.month, max.day, max.hour, max.minute, max.second, max.millisecond]
        #expect(maxFields == [292_278_994, 8, 17, 7, 12, 55, 807])
        let min = MQLDates.parts(.min, in: .utc)
        let minFields: [Int] = [min.year, min.month, min.day, min.hour, min.minute, min.second, min.millisecond]
        #expect(minFields == [-292_275_055, 5, 16, 16, 47, 4, 192])
        // A positive offset at Int64.max moves the wall clock past the range without overflow.
        #expect(MQLDates.parts(.max, in: india).day == 17)
        #expect([2, 3].contains(MQLDates.parts(.max, in: newYork).hour))
    }

    @Test func floorDivisionRoundsTowardNegativeInfinity() {
        #expect(CivilCalendar.floorDiv(-1, 86_400_000) == -1)
        #expect(CivilCalendar.floorMod(-1, 86_400_000) == 86_399_999)
        #expect(CivilCalendar.floorDiv(-86_400_000, 86_400_000) == -1)
        #expect(CivilCalendar.floorMod(-86_400_000, 86_400_000) == 0)
        #expect(CivilCalendar.floorDiv(7, 2) == 3)
    }
}
