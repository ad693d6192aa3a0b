import Testing

@testable import FerryPipelines

@Suite struct CronScheduleTests {
    func next(_ expression: String, after: String) throws -> String {
        iso(try CronSchedule(expression).next(after: utc(after)))
    }

    @Test func everyFifteenMinutes() throws {
        #expect(try next("*/15 * * * *", after: "2024-01-01T00:00") == "2024-01-01T00:15:00Z")
        #expect(try next("*/15 * * * *", after: "2024-01-01T00:59") == "2024-01-01T01:00:00Z")
        #expect(try next("*/15 * * * *", after: "2023-12-31T23:50") == "2024-01-01T00:00:00Z")
        // Mid-minute: the next whole minute that fires.
        #expect(iso(try CronSchedule("*/15 * * * *").next(after: utc("2024-01-01T00:14") + 30_000)) == "2024-01-01T00:15:00Z")
    }

    @Test func monthEnds() throws {
        #expect(try next("0 0 31 * *", after: "2024-01-31T00:00") == "2024-03-31T00:00:00Z")
        #expect(try next("59 23 30 * *", after: "2024-01-30T23:59") == "2024-03-30T23:59:00Z")
        #expect(try next("0 0 1 * *", after: "2024-12-15T00:00") == "2025-01-01T00:00:00Z")
    }

    @Test func leapYears() throws {
        #expect(try next("0 0 29 2 *", after: "2024-03-01T00:00") == "2028-02-29T00:00:00Z")
        // 2100 is not a leap year; 2000 was.
        #expect(try next("0 0 29 2 *", after: "2096-03-01T00:00") == "2104-02-29T00:00:00Z")
        #expect(try next("0 0 29 2 *", after: "1999-01-01T00:00") == "2000-02-29T00:00:00Z")
        #expect(iso(try CronSchedule("0 0 29 2 *").previous(before: utc("2028-02-29T00:00"))) == "2024-02-29T00:00:00Z")
    }

    @Test func daysOfWeek() throws {
        // 2024-06-07 is a Friday.
        #expect(try next("0 12 * * MON-FRI", after: "2024-06-07T12:00") == "2024-06-10T12:00:00Z")
        #expect(try next("0 0 * * 7", after: "2024-06-01T00:00") == "2024-06-02T00:00:00Z")
        #expect(try next("0 0 * * sun", after: "2024-06-01T00:00") == "2024-06-02T00:00:00Z")
        #expect(try next("0 0 * * 1,3", after: "2024-06-03T00:00") == "2024-06-05T00:00:00Z")
    }

    @Test func dayOfMonthAndDayOfWeekTogetherMeanEither() throws {
        // Vixie cron: both restricted, so the 1st of the month OR any Monday. 2024-04-01 is a Monday.
        #expect(try next("0 0 1 * MON", after: "2024-04-01T00:00") == "2024-04-08T00:00:00Z")
        #expect(try next("0 0 1 * MON", after: "2024-04-29T00:00") == "2024-05-01T00:00:00Z")
        #expect(try next("0 0 13 * FRI", after: "2024-09-06T00:00") == "2024-09-13T00:00:00Z")
        #expect(try next("0 0 13 * FRI", after: "2024-09-13T00:00") == "2024-09-20T00:00:00Z")
        // A field starting with * does not restrict: then both must match (every Monday that is the 1st…).
        #expect(try next("0 0 * * MON", after: "2024-04-01T00:00") == "2024-04-08T00:00:00Z")
    }

    @Test func rangesListsStepsNames() throws {
        #expect(try next("0 9-17/4 * * *", after: "2024-01-01T13:00") == "2024-01-01T17:00:00Z")
        #expect(try next("0 9-17/4 * * *", after: "2024-01-01T17:00") == "2024-01-02T09:00:00Z")
        #expect(try next("30 4 1 jan,jul *", after: "2024-01-01T04:30") == "2024-07-01T04:30:00Z")
        #expect(try next("0 0 1 MAR-MAY *", after: "2024-05-01T00:00") == "2025-03-01T00:00:00Z")
        #expect(try next("5/20 * * * *", after: "2024-01-01T00:05") == "2024-01-01T00:25:00Z")
        #expect(try next("@hourly", after: "2024-01-01T00:05") == "2024-01-01T01:00:00Z")
        #expect(try next("@daily", after: "2024-01-01T00:05") == "2024-01-02T00:00:00Z")
    }

    @Test func previousTicks() throws {
        let hourly = try CronSchedule("0 * * * *")
        #expect(iso(hourly.previous(before: utc("2024-01-01T00:00"))) == "2023-12-31T23:00:00Z")
        #expect(iso(hourly.previous(atOrBefore: utc("2024-01-01T00:00"))) == "2024-01-01T00:00:00Z")
        #expect(iso(try CronSchedule("0 0 31 * *").previous(before: utc("2024-03-01T00:00"))) == "2024-01-31T00:00:00Z")
    }

    /// next() and previous() agree with fires(at:) minute by minute over two months around a leap day.
    @Test(arguments: ["*/15 * * * *", "0 9-17/4 * * 1-5", "0 0 1 * MON", "30 2 29 2 *", "0 0,12 * * *", "7 * 31 * *"])
    func agreesWithBruteForce(_ expression: String) throws {
        let cron = try CronSchedule(expression)
        let start = utc("2024-01-20T00:00")
        let end = utc("2024-03-20T00:00")
        var expected: [Int64] = []
        var t = start + minute
        while t < end {
            if cron.fires(at: t) { expected.append(t) }
            t += minute
        }
        var actual: [Int64] = []
        var cursor = start
        while let n = cron.next(after: cursor), n < end {
            actual.append(n)
            cursor = n
        }
        #expect(actual == expected)
        var backwards: [Int64] = []
        cursor = end
        while let p = cron.previous(before: cursor), p > start {
            backwards.append(p)
            cursor = p
        }
        #expect(backwards.reversed() == expected)
    }

    @Test func invalidExpressionsSayWhy() {
        func error(_ expression: String) -> String {
            do {
                _ = try CronSchedule(expression)
                return "accepted"
            } catch {
                return error.description
            }
        }
        #expect(error("60 * * * *").contains("field 1 (minute): 60 is out of range 0–59"))
        #expect(error("* * * *").contains("5 fields"))
        #expect(error("0 0 30 2 *").contains("field 3 (day of month)"))
        #expect(error("0 0 30 2 *").contains("never fire"))
        #expect(error("5-1 * * * *").contains("backwards"))
        #expect(error("*/0 * * * *").contains("step"))
        #expect(error("0 0 * * FUNDAY").contains("field 5 (day of week)"))
        #expect(error("0 0 * 13 *").contains("field 4 (month): 13 is out of range 1–12"))
        #expect(error("0 0 ,1 * *").contains("empty list item"))
        #expect(error("0 25 * * *").contains("field 2 (hour)"))
    }
}
