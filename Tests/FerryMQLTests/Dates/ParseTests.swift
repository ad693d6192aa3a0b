import Testing

@testable import FerryMQL

@Suite("Dates: $dateFromString")
struct ParseTests {
    private func parse(_ text: String, _ format: String? = nil, in zone: MQLTimeZone = .utc) throws -> Int64 {
        try MQLDates.parse(text, format: format, in: zone)
    }

    @Test func mongoDocsExamples() throws {
        #expect(try parse("2017-02-08T12:10:40.787", in: newYork) == utc("2017-02-08T17:10:40.787Z"))
        #expect(try parse("2017-02-08") == utc("2017-02-08T00:00:00Z"))
        #expect(try parse("06-15-2018", "%m-%d-%Y") == utc("2018-06-15T00:00:00Z"))
        #expect(try parse("15-06-2018", "%d-%m-%Y") == utc("2018-06-15T00:00:00Z"))
    }

    @Test(arguments: [
        ("2017-07-04T11:56:02Z", "%Y-%m-%dT%H:%M:%SZ", "2017-07-04T11:56:02Z"),
        ("2017-07-04T11:56:02.813Z", "%Y-%m-%dT%H:%M:%S.%LZ", "2017-07-04T11:56:02.813Z"),
        ("2017-07-04T11:56:02.81Z", "%Y-%m-%dT%H:%M:%S.%LZ", "2017-07-04T11:56:02.810Z"),
        ("2017-07-04T11:56:02.8Z", "%Y-%m-%dT%H:%M:%S.%LZ", "2017-07-04T11:56:02.800Z"),
        ("2017-07-04T11:56.02", "%Y-%m-%dT%H:%M.%S", "2017-07-04T11:56:02Z"),
        ("2017-07-04T11:56.02.813", "%Y-%m-%dT%H:%M.%S.%L", "2017-07-04T11:56:02.813Z"),
        ("2017-07-06T12:35:37", "%Y-%m-%dT%H:%M:%S", "2017-07-06T12:35:37Z"),
        ("1960-07-10T12:10:37.448", "%Y-%m-%dT%H:%M:%S.%L", "1960-07-10T12:10:37.448Z"),
    ])
    func mongoTestSuiteFormsWithAndWithoutFormat(text: String, format: String, expected: String) throws {
        #expect(try parse(text) == utc(expected))
        #expect(try parse(text, format) == utc(expected))
    }

    @Test func epochAnchorsFromMongoTestSuite() throws {
        #expect(try parse("2017-07-06T12:35:37.513Z") == 1_499_344_537_513)
        #expect(try parse("1960-07-10T12:10:37.448") == -299_072_962_552)
    }

    @Test(arguments: [
        ("GMT", "2017-07-06T12:35:37.513Z"), ("UTC", "2017-07-06T12:35:37.513Z"),
        ("America/Los_Angeles", "2017-07-06T19:35:37.513Z"), ("Europe/Paris", "2017-07-06T10:35:37.513Z"),
        ("+04:00", "2017-07-06T08:35:37.513Z"), ("Asia/Tokyo", "2017-07-06T03:35:37.513Z"),
    ])
    func timezoneArgument(zoneName: String, expected: String) throws {
        #expect(try parse("2017-07-06T12:35:37.513", in: zone(zoneName)) == utc(expected))
        #expect(try parse("2017-07-06T12:35:37.513", "%Y-%m-%dT%H:%M:%S.%L", in: zone(zoneName)) == utc(expected))
    }

    @Test func timezoneArgumentInThe1960s() throws {
        #expect(try parse("1960-07-10T12:35:37.513", in: newYork) == utc("1960-07-10T16:35:37.513Z"))
        #expect(try parse("1960-07-10T12:35:37.513", in: zone("Europe/London")) == utc("1960-07-10T11:35:37.513Z"))
        #expect(try parse("2017-07-19T18:52:35.199", in: zone("-05:00")) == utc("2017-07-19T23:52:35.199Z"))
    }

    @Test(arguments: [
        ("2017-07-14T12:02:44.771 GMT", "2017-07-14T12:02:44.771Z"),
        ("2017-07-14T12:02:44.771 GMT+00", "2017-07-14T12:02:44.771Z"),
        ("2017-07-14T12:02:44.771 GMT+00:00", "2017-07-14T12:02:44.771Z"),
        ("2017-07-14T12:02:44.771 GMT+02", "2017-07-14T10:02:44.771Z"),
        ("2017-07-14T12:02:44.771 GMT+02:00", "2017-07-14T10:02:44.771Z"),
        ("2017-07-14T12:02:44.771+03", "2017-07-14T09:02:44.771Z"),
        ("2017-07-14T12:02:44.771+0330", "2017-07-14T08:32:44.771Z"),
        ("2017-07-14T12:02:44.771+03:30", "2017-07-14T08:32:44.771Z"),
        ("2017-07-14T12:02:44.771 UTC", "2017-07-14T12:02:44.771Z"),
        ("2017-07-14T12:02:44.771 CEST", "2017-07-14T10:02:44.771Z"),
        ("2017-07-14T12:02:44.771 EST", "2017-07-14T17:02:44.771Z"),
        ("2017-07-14T12:02:44.771 PDT", "2017-07-14T19:02:44.771Z"),
        ("2017-07-14T12:02:44.771 A", "2017-07-14T11:02:44.771Z"),
        ("2017-07-14T12:02:44.771 L", "2017-07-14T01:02:44.771Z"),
        ("2017-07-14T12:02:44.771 P", "2017-07-14T15:02:44.771Z"),
        ("2017-07-14T12:02:44.771 Z", "2017-07-14T12:02:44.771Z"),
    ])
    func zoneInformationInTheString(text: String, expected: String) throws {
        #expect(try parse(text) == utc(expected))
        #expect(try parse(text, "%Y-%m-%dT%H:%M:%S.%L%z") == utc(expected))
    }

    @Test func spaceSeparatedForms() throws {
        #expect(try parse("2017-01-01 00:00:00") == utc("2017-01-01T00:00:00Z"))
        #expect(try parse("2017-07-06 11:36:54") == utc("2017-07-06T11:36:54Z"))
        #expect(try parse("2017-07-06 11:36") == utc("2017-07-06T11:36:00Z"))
        #expect(try parse("2017-07-04 12:48:07 GMT+0545") == utc("2017-07-04T07:03:07Z"))
        #expect(try parse("2017-07-04 12:48:07 GMT-0200") == utc("2017-07-04T14:48:07Z"))
        #expect(try parse("  2017-07-04  ") == utc("2017-07-04T00:00:00Z"))
        #expect(try parse("2017/07/04") == utc("2017-07-04T00:00:00Z"))
        #expect(try parse("2017-7-4") == utc("2017-07-04T00:00:00Z"))
        #expect(try parse("2017-07") == utc("2017-07-01T00:00:00Z"))
        #expect(try parse("2017-07-04t10:00:00,5z") == utc("2017-07-04T10:00:00.500Z"))
        #expect(try parse("2017-07-04T10:00:00.123456789Z") == utc("2017-07-04T10:00:00.123Z"))
    }

    @Test func isoWeekDates() throws {
        #expect(try parse("2017-W01-1") == utc("2017-01-02T00:00:00Z"))
        #expect(try parse("2017W017") == utc("2017-01-08T00:00:00Z"))
        #expect(try parse("2020-W53") == utc("2020-12-28T00:00:00Z"))
        #expect(try parse("2015-W53-5T08:00:00Z") == utc("2016-01-01T08:00:00Z"))
    }

    @Test(arguments: [
        ("05 12 1988", "%d %m %Y", "1988-12-05T00:00:00Z"), ("1992 04 26", "%Y %m %d", "1992-04-26T00:00:00Z"),
        ("05*12*1988", "%d*%m*%Y", "1988-12-05T00:00:00Z"), ("1992/04/26", "%Y/%m/%d", "1992-04-26T00:00:00Z"),
        ("1992 % 04 % 26", "%Y %% %m %% %d", "1992-04-26T00:00:00Z"),
        ("Day: 05 Month: 12 Year: 1988", "Day: %d Month: %m Year: %Y", "1988-12-05T00:00:00Z"),
        ("Date: 1992/04/26", "Date: %Y/%m/%d", "1992-04-26T00:00:00Z"),
        ("4/26/1992:+0445", "%m/%d/%Y:%z", "1992-04-25T19:15:00Z"),
        ("4/26/1992:+285", "%m/%d/%Y:%Z", "1992-04-25T19:15:00Z"),
        ("2017", "%G", "2017-01-02T00:00:00Z"), ("2017, Week 53", "%G, Week %V", "2018-01-01T00:00:00Z"),
        ("2017, Day 5", "%G, Day %u", "2017-01-06T00:00:00Z"), ("53.7.2017", "%V.%u.%G", "2018-01-07T00:00:00Z"),
        ("1.1.1", "%V.%u.%G", "0001-01-01T00:00:00Z"),
        ("Jan 01, 2014", "%b %d, %Y", "2014-01-01T00:00:00Z"), ("january 01, 2014", "%B %d, %Y", "2014-01-01T00:00:00Z"),
        ("2016-060", "%Y-%j", "2016-02-29T00:00:00Z"), ("2016-366 23", "%Y-%j %H", "2016-12-31T23:00:00Z"),
        ("12", "%H%Y%m%d", nil), ("10:30 2020-01-02", "%H:%M %Y-%m-%d", "2020-01-02T10:30:00Z"),
    ] as [(String, String, String?)])
    func formats(text: String, format: String, expected: String?) throws {
        if let expected {
            #expect(try parse(text, format) == utc(expected))
        } else {
            #expect(dateError { try parse(text, format) }?.message.contains("Data missing") == true)
        }
    }

    @Test func zeroOffsetTimezoneArgumentAllowsZoneInTheString() throws {
        #expect(try parse("2017-07-12T22:23:55+02:00", in: zone("+00:00")) == utc("2017-07-12T20:23:55Z"))
        #expect(try parse("2017-07-12T22:23:55 EST", in: .utc) == utc("2017-07-13T03:23:55Z"))
    }

    @Test func daylightSavingRuleApplies() throws {
        #expect(try parse("2021-03-14T02:30:00", in: newYork) == utc("2021-03-14T07:30:00Z"))
        #expect(try parse("2021-11-07T01:30:00", in: newYork) == utc("2021-11-07T05:30:00Z"))
        #expect(try parse("2021-11-07T01:30:00-05:00") == utc("2021-11-07T06:30:00Z"))
    }

    @Test func roundTripsThroughFormat() throws {
        let zones = [MQLTimeZone.utc, newYork, kathmandu, india, zone("Australia/Lord_Howe")]
        let withOffset = "%Y-%m-%dT%H:%M:%S.%L%z"
        let isoWeek = "%G-W%V-%u %H:%M:%S.%L"
        // From 1923 on: earlier local mean time offsets have seconds, which %z cannot write.
        for ms in stride(from: Int64(-1_480_000_000_000), through: 5_000_000_000_000, by: 4_876_543_211) {
            #expect(try parse(MQLDates.format(ms, in: .utc)) == ms)
            for z in zones {
                // The written offset makes even the repeated DST hour exact.
                #expect(try parse(MQLDates.format(ms, format: withOffset, in: z), withOffset) == ms, "\(z) \(ms)")
                let local = try MQLDates.format(ms, in: z)
                let back = try parse(local, in: z)
                let reformatted = try MQLDates.format(back, in: z)
                #expect(back == ms || reformatted == local, "\(z) \(ms)")
                #expect(try parse(MQLDates.format(ms, format: isoWeek, in: z), isoWeek, in: z) == back)
            }
        }
    }

    @Test func mongoErrorMessages() {
        func message(_ text: String, _ format: String? = nil, in zone: MQLTimeZone = .utc) -> String? {
            let error = dateError { try parse(text, format, in: zone) }
            if let error, error.code != 241 { Issue.record("code \(error.code) for \(text)") }
            return error?.message
        }
        #expect(message("12:50:53") == "an incomplete date/time string has been found, with elements missing: \"12:50:53\"")
        #expect(message("2017, 12:50:53") == "Error parsing date string '2017, 12:50:53'; 4: Unexpected character ','")
        #expect(message("60.Monday1770/06:59") == "Error parsing date string '60.Monday1770/06:59'; 0: Unexpected character '6'")
        #expect(message("") == "Error parsing date string ''; 0: Empty string")
        #expect(message("2017-02-30") == "Error parsing date string '2017-02-30'; 10: The parsed date was invalid")
        #expect(message("2017-02-08T24:00:00") == "Error parsing date string '2017-02-08T24:00:00'; 19: The parsed time was invalid")
        #expect(message("2017-07-12T22:23:55 Europe/Amsterdam")
            == "Error parsing date string '2017-07-12T22:23:55 Europe/Amsterdam'; 20: passing a time zone identifier as part of the string is not allowed 'E'")
        #expect(message("2017-07-12T22:23:55 XYZ")
            == "Error parsing date string '2017-07-12T22:23:55 XYZ'; 20: The timezone could not be found in the database 'X'")
        #expect(message("2017-07-12T22:23:55Z", in: zone("Europe/Amsterdam"))
            == "you cannot pass in a date/time string with time zone information ('Z') together with a timezone argument")
        #expect(message("2017-07-12T22:23:55Z", in: zone("GMT"))
            == "you cannot pass in a date/time string with time zone information ('Z') together with a timezone argument")
        #expect(message("2017-07-12T22:23:55 GMT+02:00", in: zone("Europe/Amsterdam"))
            == "you cannot pass in a date/time string with GMT offset together with a timezone argument")
        #expect(message("4/26/1992:+0445", "%m/%d/%Y:%z", in: zone("+0500"))
            == "you cannot pass in a date/time string with GMT offset together with a timezone argument")
        #expect(message("2018-01", "%Y-%m-%d") == "Error parsing date string '2018-01'; 7: Data missing")
        #expect(message("2018-01", "%Y") == "Error parsing date string '2018-01'; 4: Trailing data '-'")
        #expect(message("1992-26-04", "Y-d-m") == "Error parsing date string '1992-26-04'; 0: Format literal not found '1'")
        #expect(message("ISO Day 6", "ISO Day %u") == "Error parsing date string 'ISO Day 6'; 9: The parsed date was invalid")
        #expect(message("ISO Week 52", "ISO Week %V")?.contains("The parsed date was invalid") == true)
        #expect(message("ISO Week 1, 2018", "ISO Week %V, %Y")
            == "Error parsing date string 'ISO Week 1, 2018'; 12: Mixing of ISO dates with natural dates is not allowed '2'")
        #expect(message("12/31/2018", "%m/%d/%G")?.contains("Mixing of ISO dates with natural dates is not allowed") == true)
        #expect(message("12/31\u{0}/2018", "%m/%d/%Y")?.contains("Data missing") == true)
        #expect(message("12/31/2018", "%m/%d\u{0}/%Y")?.contains("Trailing data") == true)
        #expect(message("2018-xx-01", "%Y-%m-%d") == "Error parsing date string '2018-xx-01'; 5: A two digit month could not be found 'x'")
        #expect(message("Foo 01, 2014", "%b %d, %Y") == "Error parsing date string 'Foo 01, 2014'; 0: A textual month could not be found 'F'")
        #expect(message("060", "%j")?.contains("A 'day of year' can only come after a year has been found") == true)
        #expect(message("2015-366", "%Y-%j") == "Error parsing date string '2015-366'; 8: The parsed date was invalid")
        #expect(message("2017-30-02", "%Y-%d-%m")?.contains("The parsed date was invalid") == true)
        #expect(message("10:30", "%H:%M") == "an incomplete date/time string has been found, with elements missing: \"10:30\"")
    }

    @Test func invalidFormatStrings() {
        #expect(dateError { try parse("1992", "%n") } == MQLDateError(code: 18536, message: "Invalid format character '%n' in format string"))
        #expect(dateError { try parse("1992", "%w") }?.code == 18536)  // $dateToString-only specifier
        #expect(dateError { try parse("1992", "%Y%") } == MQLDateError(code: 18535, message: "Unmatched '%' at end of format string"))
    }
}
