import Testing

@testable import FerryMQL

@Suite("Dates: $dateToString")
struct FormatTests {
    private let docsDate = utc("2014-01-01T08:15:39.736Z")

    @Test func mongoDocsExample() throws {
        #expect(try MQLDates.format(docsDate, format: "%Y-%m-%d", in: .utc) == "2014-01-01")
        #expect(try MQLDates.format(docsDate, format: "%H:%M:%S:%L%z", in: newYork) == "03:15:39:736-0500")
        #expect(try MQLDates.format(docsDate, format: "%H:%M:%S:%L%z", in: zone("+04:30")) == "12:45:39:736+0430")
        #expect(try MQLDates.format(docsDate, format: "%Z", in: newYork) == "-300")
        #expect(try MQLDates.format(docsDate, format: "%Z", in: zone("+04:30")) == "270")
        #expect(try MQLDates.format(docsDate, format: "%b %d, %Y", in: zone("+04:30")) == "Jan 01, 2014")
        #expect(try MQLDates.format(docsDate, format: "%B %d, %Y", in: zone("+04:30")) == "January 01, 2014")
    }

    @Test func defaultFormatHasZOnlyInUTC() throws {
        #expect(MQLDates.defaultFormat(in: .utc) == "%Y-%m-%dT%H:%M:%S.%LZ")
        #expect(try MQLDates.format(docsDate, in: .utc) == "2014-01-01T08:15:39.736Z")
        #expect(try MQLDates.format(docsDate, in: newYork) == "2014-01-01T03:15:39.736")
        #expect(try MQLDates.format(docsDate, in: india) == "2014-01-01T13:45:39.736")
        #expect(try MQLDates.format(docsDate, in: zone("GMT")) == "2014-01-01T08:15:39.736")
        #expect(try MQLDates.format(docsDate, in: zone("+00:00")) == "2014-01-01T08:15:39.736Z")
    }

    @Test func weekAndDaySpecifiers() throws {
        let fmt = "%j|%w|%U|%G-W%V-%u"
        #expect(try MQLDates.format(utc("2016-01-01T00:00:00Z"), format: fmt, in: .utc) == "001|6|00|2015-W53-5")
        #expect(try MQLDates.format(utc("2017-01-01T00:00:00Z"), format: fmt, in: .utc) == "001|1|01|2016-W52-7")
        #expect(try MQLDates.format(utc("2020-12-31T00:00:00Z"), format: fmt, in: .utc) == "366|5|52|2020-W53-4")
        #expect(try MQLDates.format(utc("2024-02-29T00:00:00Z"), format: fmt, in: .utc) == "060|5|08|2024-W09-4")
    }

    @Test func padsAndSupportsTheFullYearRange() throws {
        let full = "%Y-%m-%dT%H:%M:%S.%L"
        #expect(try MQLDates.format(-1, format: full, in: .utc) == "1969-12-31T23:59:59.999")
        #expect(try MQLDates.format(utc("0001-02-03T04:05:06.007Z"), format: full, in: .utc) == "0001-02-03T04:05:06.007")
        #expect(try MQLDates.format(253_402_300_799_999, format: full, in: .utc) == "9999-12-31T23:59:59.999")
        #expect(try MQLDates.format(utc("0000-01-01T00:00:00Z"), format: "%Y", in: .utc) == "0000")
    }

    @Test func yearsMongoCannotPrint() throws {
        #expect(dateError { try MQLDates.format(253_402_300_800_000, format: "%Y", in: .utc) }
            == MQLDateError(
                code: 18537,
                message: "Could not convert date to string: date component was outside the supported range of 0-9999: 10000"))
        #expect(dateError { try MQLDates.format(utc("0000-01-01T00:00:00Z") - 1, format: "%Y", in: .utc) }?.message
            == "Could not convert date to string: date component was outside the supported range of 0-9999: -1")
        // Without a year specifier the same date prints.
        #expect(try MQLDates.format(253_402_300_800_000, format: "%m-%d", in: .utc) == "01-01")
    }

    @Test func offsets() throws {
        let date = utc("2020-06-01T00:00:00Z")
        #expect(try MQLDates.format(date, format: "%z %Z", in: kathmandu) == "+0545 345")
        #expect(try MQLDates.format(date, format: "%z %Z", in: .utc) == "+0000 0")
        #expect(try MQLDates.format(date, format: "%z %Z", in: newYork) == "-0400 -240")
        #expect(try MQLDates.format(date, format: "%z %Z", in: zone("-02:30")) == "-0230 -150")
        // New York's local mean time before 1883 was -4:56:02.
        #expect(try MQLDates.format(utc("1880-01-01T00:00:00Z"), format: "%z %Z", in: newYork) == "-0456 -296")
    }

    @Test func literalsAndEscapes() throws {
        #expect(try MQLDates.format(docsDate, format: "100%% at %H", in: .utc) == "100% at 08")
        #expect(try MQLDates.format(docsDate, format: "Année %Y ✓", in: .utc) == "Année 2014 ✓")
        #expect(try MQLDates.format(docsDate, format: "", in: .utc) == "")
        #expect(try MQLDates.format(docsDate, format: "%%%%", in: .utc) == "%%")
    }

    @Test func invalidFormats() {
        #expect(dateError { try MQLDates.format(0, format: "%Y-%", in: .utc) }
            == MQLDateError(code: 18535, message: "Unmatched '%' at end of format string"))
        #expect(dateError { try MQLDates.format(0, format: "%n", in: .utc) }
            == MQLDateError(code: 18536, message: "Invalid format character '%n' in format string"))
        #expect(dateError { try MQLDates.format(0, format: "%a", in: .utc) }?.code == 18536)
        #expect(dateError { try MQLDates.format(0, format: "%é", in: .utc) }?.message
            == "Invalid format character '%é' in format string")
        #expect(throws: MQLDateError.self) { try MQLDates.validateToStringFormat("%Y %q") }
        #expect(throws: Never.self) { try MQLDates.validateToStringFormat("%w %U %b") }
        #expect(throws: MQLDateError.self) { try MQLDates.validateFromStringFormat("%w") }
        #expect(throws: Never.self) { try MQLDates.validateFromStringFormat("%G-%V-%u %z %Z %%") }
        // The whole format is checked before anything is printed.
        #expect(dateError { try MQLDates.format(253_402_300_800_000, format: "%Y %q", in: .utc) }?.code == 18536)
    }
}
