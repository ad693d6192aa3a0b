import FerryBSON
import Testing

@testable import FerryMQL

@Suite("expressions: dates")
struct ExpressionDateTests {
    let sale = #"{"date": {"$date": "2014-01-01T08:15:39.736Z"}}"#

    @Test func partOperatorsInUTC() {
        expectExpr(#"{"$year": "$date"}"#, "2014", on: sale)
        expectExpr(#"{"$month": "$date"}"#, "1", on: sale)
        expectExpr(#"{"$dayOfMonth": "$date"}"#, "1", on: sale)
        expectExpr(#"{"$hour": "$date"}"#, "8", on: sale)
        expectExpr(#"{"$minute": "$date"}"#, "15", on: sale)
        expectExpr(#"{"$second": "$date"}"#, "39", on: sale)
        expectExpr(#"{"$millisecond": "$date"}"#, "736", on: sale)
        expectExpr(#"{"$dayOfYear": "$date"}"#, "1", on: sale)
        expectExpr(#"{"$dayOfWeek": "$date"}"#, "4", on: sale)
        expectExpr(#"{"$week": "$date"}"#, "0", on: sale)
        expectExpr(#"{"$isoWeek": "$date"}"#, "1", on: sale)
        expectExpr(#"{"$isoWeekYear": "$date"}"#, "2014", on: sale)
        expectExpr(#"{"$isoDayOfWeek": "$date"}"#, "3", on: sale)
        expectExpr(#"{"$year": ["$date"]}"#, "2014", on: sale)
        expectExpr(#"{"$year": "$missing"}"#, "null")
        expectExprError(#"{"$year": "2014"}"#, "can't convert from BSON type string to Date")
    }

    @Test func partOperatorsWithTimeZones() {
        expectExpr(#"{"$hour": {"date": "$date", "timezone": "America/New_York"}}"#, "3", on: sale)
        expectExpr(#"{"$hour": {"date": "$date", "timezone": "+04:30"}}"#, "12", on: sale)
        expectExpr(#"{"$minute": {"date": "$date", "timezone": "+04:30"}}"#, "45", on: sale)
        expectExpr(#"{"$dayOfMonth": {"date": "$date", "timezone": "-0900"}}"#, "31", on: sale)
        expectExpr(#"{"$year": {"date": "$date", "timezone": "-0900"}}"#, "2013", on: sale)
        expectExpr(#"{"$hour": {"date": "$date", "timezone": null}}"#, "null", on: sale)
        expectExprError(#"{"$hour": {"date": "$date", "timezone": "Mars/Olympus"}}"#, on: sale, "Mars/Olympus")
        // Timestamps and ObjectIds are dates too.
        expectExpr(#"{"$year": {"$timestamp": {"t": 1500000000, "i": 1}}}"#, "2017")
        expectExpr(#"{"$month": {"$oid": "5ab9cbfa31c2ab715d42129e"}}"#, "3")
    }

    @Test func dateToStringAndParts() {
        expectExpr(#"{"$dateToString": {"format": "%Y-%m-%d", "date": "$date"}}"#, #""2014-01-01""#, on: sale)
        expectExpr(#"{"$dateToString": {"format": "%H:%M:%S:%L%z", "date": "$date", "timezone": "America/New_York"}}"#,
                   #""03:15:39:736-0500""#, on: sale)
        expectExpr(#"{"$dateToString": {"format": "%Z", "date": "$date", "timezone": "America/New_York"}}"#, #""-300""#, on: sale)
        expectExpr(#"{"$dateToString": {"date": "$date"}}"#, #""2014-01-01T08:15:39.736Z""#, on: sale)
        expectExpr(#"{"$dateToString": {"date": "$date", "timezone": "+01:00"}}"#, #""2014-01-01T09:15:39.736""#, on: sale)
        expectExpr(#"{"$dateToString": {"date": "$missing", "onNull": "unknown"}}"#, #""unknown""#)
        expectExpr(#"{"$dateToString": {"date": "$missing"}}"#, "null")
        expectExprError(#"{"$dateToString": {"date": "$date", "format": "%Q"}}"#, on: sale, "$dateToString")
        expectExpr(#"{"$dateToParts": {"date": "$date"}}"#,
                   #"{"year": 2014, "month": 1, "day": 1, "hour": 8, "minute": 15, "second": 39, "millisecond": 736}"#, on: sale)
        expectExpr(#"{"$dateToParts": {"date": "$date", "timezone": "America/New_York", "iso8601": true}}"#,
                   #"{"isoWeekYear": 2014, "isoWeek": 1, "isoDayOfWeek": 3, "hour": 3, "minute": 15, "second": 39, "millisecond": 736}"#, on: sale)
    }

    @Test func dateFromPartsAndString() {
        expectExpr(#"{"$dateFromParts": {"year": 2017, "month": 2, "day": 8, "hour": 12}}"#, #"{"$date": "2017-02-08T12:00:00Z"}"#)
        expectExpr(#"{"$dateFromParts": {"year": 2017, "month": 2, "day": 8, "hour": 12, "timezone": "America/New_York"}}"#,
                   #"{"$date": "2017-02-08T17:00:00Z"}"#)
        expectExpr(#"{"$dateFromParts": {"isoWeekYear": 2017, "isoWeek": 6, "isoDayOfWeek": 3, "hour": 12}}"#,
                   #"{"$date": "2017-02-08T12:00:00Z"}"#)
        expectExpr(#"{"$dateFromParts": {"year": 2017, "month": 14, "day": 1}}"#, #"{"$date": "2018-02-01T00:00:00Z"}"#)
        expectExpr(#"{"$dateFromParts": {"year": 2017, "month": 3, "day": 0}}"#, #"{"$date": "2017-02-28T00:00:00Z"}"#)
        expectExpr(#"{"$dateFromParts": {"year": 2017, "hour": -1}}"#, #"{"$date": "2016-12-31T23:00:00Z"}"#)
        expectExpr(#"{"$dateFromParts": {"year": "$missing"}}"#, "null")
        expectExprError(#"{"$dateFromParts": {"year": 10000}}"#, "'year' must evaluate to an integer in the range 1 to 9999, found 10000")
        expectExprError(#"{"$dateFromParts": {"year": 2017, "month": 40000}}"#, "'month' must evaluate to a value in the range [-32768, 32767]")
        expectExprError(#"{"$dateFromParts": {"year": 2017, "isoWeek": 1}}"#, "does not allow mixing natural dates with ISO dates")
        expectExprError(#"{"$dateFromParts": {"month": 1}}"#, "requires either 'year' or 'isoWeekYear'")
        expectExpr(#"{"$dateFromString": {"dateString": "2017-02-08T12:10:40.787", "timezone": "America/New_York"}}"#,
                   #"{"$date": "2017-02-08T17:10:40.787Z"}"#)
        expectExpr(#"{"$dateFromString": {"dateString": "15-06-2018", "format": "%d-%m-%Y"}}"#, #"{"$date": "2018-06-15T00:00:00Z"}"#)
        expectExpr(#"{"$dateFromString": {"dateString": "not a date", "onError": "bad"}}"#, #""bad""#)
        expectExpr(#"{"$dateFromString": {"dateString": null, "onNull": 0}}"#, "0")
        expectExprError(#"{"$dateFromString": {"dateString": "not a date"}}"#, "$dateFromString")
    }

    @Test func dateTrunc() {
        let t = #"{"t": {"$date": "2024-03-17T13:47:21.500Z"}}"#
        expectExpr(#"{"$dateTrunc": {"date": "$t", "unit": "hour"}}"#, #"{"$date": "2024-03-17T13:00:00Z"}"#, on: t)
        expectExpr(#"{"$dateTrunc": {"date": "$t", "unit": "minute", "binSize": 15}}"#, #"{"$date": "2024-03-17T13:45:00Z"}"#, on: t)
        expectExpr(#"{"$dateTrunc": {"date": "$t", "unit": "day"}}"#, #"{"$date": "2024-03-17T00:00:00Z"}"#, on: t)
        expectExpr(#"{"$dateTrunc": {"date": "$t", "unit": "week"}}"#, #"{"$date": "2024-03-17T00:00:00Z"}"#, on: t)
        expectExpr(#"{"$dateTrunc": {"date": "$t", "unit": "week", "startOfWeek": "monday"}}"#, #"{"$date": "2024-03-11T00:00:00Z"}"#, on: t)
        expectExpr(#"{"$dateTrunc": {"date": "$t", "unit": "month"}}"#, #"{"$date": "2024-03-01T00:00:00Z"}"#, on: t)
        expectExpr(#"{"$dateTrunc": {"date": "$t", "unit": "quarter"}}"#, #"{"$date": "2024-01-01T00:00:00Z"}"#, on: t)
        expectExpr(#"{"$dateTrunc": {"date": "$t", "unit": "year"}}"#, #"{"$date": "2024-01-01T00:00:00Z"}"#, on: t)
        expectExpr(#"{"$dateTrunc": {"date": "$t", "unit": "day", "timezone": "America/New_York"}}"#, #"{"$date": "2024-03-17T04:00:00Z"}"#, on: t)
        expectExpr(#"{"$dateTrunc": {"date": "$t", "unit": "$u"}}"#, #"{"$date": "2024-03-17T13:47:21Z"}"#,
                   on: #"{"t": {"$date": "2024-03-17T13:47:21.500Z"}, "u": "second"}"#)
        expectExpr(#"{"$dateTrunc": {"date": null, "unit": "hour"}}"#, "null")
        expectExprError(#"{"$dateTrunc": {"date": "$t", "unit": "fortnight"}}"#, on: t, "'unit' value cannot be recognized as a time unit: fortnight")
        expectExprError(#"{"$dateTrunc": {"date": "$t", "unit": "hour", "binSize": 0}}"#, on: t, "'binSize' to be greater than 0")
        expectExprError(#"{"$dateTrunc": {"date": "$t"}}"#, on: t, "$dateTrunc requires the argument 'unit'")
    }

    @Test func dateAddSubtractDiff() {
        expectExpr(#"{"$dateAdd": {"startDate": {"$date": "2021-01-31T00:00:00Z"}, "unit": "month", "amount": 1}}"#,
                   #"{"$date": "2021-02-28T00:00:00Z"}"#)
        expectExpr(#"{"$dateAdd": {"startDate": {"$date": "2021-03-10T00:00:00Z"}, "unit": "hour", "amount": 36}}"#,
                   #"{"$date": "2021-03-11T12:00:00Z"}"#)
        expectExpr(#"{"$dateSubtract": {"startDate": {"$date": "2021-03-10T00:00:00Z"}, "unit": "week", "amount": 1}}"#,
                   #"{"$date": "2021-03-03T00:00:00Z"}"#)
        // A day in a zone keeps the wall-clock time across the DST change.
        expectExpr(#"{"$dateAdd": {"startDate": {"$date": "2021-03-13T17:00:00Z"}, "unit": "day", "amount": 1, "timezone": "America/New_York"}}"#,
                   #"{"$date": "2021-03-14T16:00:00Z"}"#)
        expectExprError(#"{"$dateAdd": {"startDate": {"$date": "2021-03-10T00:00:00Z"}, "unit": "day", "amount": 1.5}}"#, "'amount' parameter value")
        expectExpr(#"{"$dateDiff": {"startDate": {"$date": "2020-12-31T23:59:00Z"}, "endDate": {"$date": "2021-01-01T00:01:00Z"}, "unit": "year"}}"#,
                   #"{"$numberLong": "1"}"#)
        expectExpr(#"{"$dateDiff": {"startDate": {"$date": "2024-03-01T00:00:00Z"}, "endDate": {"$date": "2024-03-01T05:30:00Z"}, "unit": "hour"}}"#,
                   #"{"$numberLong": "5"}"#)
        expectExpr(#"{"$dateDiff": {"startDate": {"$date": "2024-03-10T00:00:00Z"}, "endDate": {"$date": "2024-03-01T00:00:00Z"}, "unit": "day"}}"#,
                   #"{"$numberLong": "-9"}"#)
        expectExpr(#"{"$dateDiff": {"startDate": "$missing", "endDate": {"$date": "2024-03-01T00:00:00Z"}, "unit": "day"}}"#, "null")
    }

    @Test func hourlyBucketsOfSensorReadingsInATimeZone() {
        expectPipeline(
            #"""
            [{"$group": {"_id": {"component": "$component_name",
                                 "hour": {"$dateToString": {"date": {"$dateTrunc": {"date": "$time_received", "unit": "hour", "timezone": "Europe/Paris"}},
                                                            "format": "%Y-%m-%d %H:%M", "timezone": "Europe/Paris"}}},
                         "max": {"$max": "$data.readings.temperature"}}},
             {"$sort": {"_id.component": 1, "_id.hour": 1}}]
            """#, readings,
            #"""
            [{"_id": {"component": "thermo-1", "hour": "2024-03-01 11:00"}, "max": 21.5},
             {"_id": {"component": "thermo-1", "hour": "2024-03-01 12:00"}, "max": 23.0},
             {"_id": {"component": "thermo-2", "hour": "2024-03-01 11:00"}, "max": 18.0},
             {"_id": {"component": "thermo-2", "hour": "2024-03-01 12:00"}, "max": 19.0}]
            """#)
    }
}
