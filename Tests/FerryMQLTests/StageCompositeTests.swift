import FerryBSON
import Testing

@testable import FerryMQL

@Suite("stages: $facet, $lookup")
struct StageCompositeTests {
    @Test func facetRunsEverySubPipelineOverTheSameInput() {
        expectPipeline(
            #"""
            [{"$facet": {"byComponent": [{"$sortByCount": "$component_name"}],
                         "hot": [{"$match": {"data.readings.temperature": {"$gt": 21}}}, {"$count": "n"}],
                         "none": [{"$match": {"x": 1}}]}}]
            """#, readings,
            #"""
            {"byComponent": [{"_id": "thermo-1", "count": 3}, {"_id": "thermo-2", "count": 3}], "hot": [{"n": 2}], "none": []}
            """#)
        expectError(#"[{"$facet": {"a": [{"$facet": {"b": [{"$limit": 1}]}}]}}]"#, "[]", "stage 0 ($facet)", "in facet 'a'", "not allowed to be used within a $facet stage", stage: 0)
        expectError(#"[{"$match": {}}, {"$facet": {"a": [{"$limit": 1}, {"$group": {"_id": 1, "x": {"$summ": 1}}}]}}]"#, "[]",
                    "stage 1 ($facet): in facet 'a', stage 1 ($group)", "did you mean $sum?", stage: 1)
        expectError(#"[{"$facet": {"$a": [{"$limit": 1}]}}]"#, "[]", "facet name '$a'")
        expectError(#"[{"$facet": {"a": []}}]"#, "[]", "facet 'a' must have at least one stage")
    }

    let orders = #"[{"_id": 1, "item": "almonds", "price": 12, "quantity": 2}, {"_id": 2, "item": "pecans", "price": 20, "quantity": 1}, {"_id": 3}]"#
    let inventory: @Sendable (String) throws -> [BSONDocument] = { name in
        guard name == "inventory" else { throw MQLError(message: "no collection \(name)") }
        return try BSONDocument.parseExtendedJSONDocuments(#"""
            {"_id": 1, "sku": "almonds", "description": "product 1", "instock": 120}
            {"_id": 2, "sku": "bread", "description": "product 2", "instock": 80}
            {"_id": 3, "sku": "cashews", "description": "product 3", "instock": 60}
            {"_id": 4, "sku": "pecans", "description": "product 4", "instock": 70}
            {"_id": 5, "sku": null, "description": "Incomplete"}
            {"_id": 6}
            """#)
    }

    @Test func lookupEquality() {
        expectPipeline(
            #"[{"$lookup": {"from": "inventory", "localField": "item", "foreignField": "sku", "as": "inventory_docs"}}, {"$project": {"ids": "$inventory_docs._id"}}]"#,
            orders, #"[{"_id": 1, "ids": [1]}, {"_id": 2, "ids": [4]}, {"_id": 3, "ids": [5, 6]}]"#, lookup: inventory)
        // An array local field matches any of its elements; "as" may be dotted.
        expectPipeline(
            #"[{"$lookup": {"from": "inventory", "localField": "items", "foreignField": "sku", "as": "joined.docs"}}, {"$project": {"_id": 0, "ids": "$joined.docs._id"}}]"#,
            #"{"items": ["bread", "pecans", "nothing"]}"#, #"{"ids": [2, 4]}"#, lookup: inventory)
    }

    @Test func lookupPipelineWithLet() {
        expectPipeline(
            #"""
            [{"$match": {"_id": {"$lt": 3}}},
             {"$lookup": {"from": "inventory", "let": {"want": "$item", "qty": "$quantity"},
                          "pipeline": [{"$match": {"$expr": {"$and": [{"$eq": ["$sku", "$$want"]}, {"$gte": ["$instock", {"$multiply": ["$$qty", 50]}]}]}}},
                                       {"$project": {"_id": 0, "instock": 1}}],
                          "as": "stock"}},
             {"$project": {"stock": 1}}]
            """#, orders, #"[{"_id": 1, "stock": [{"instock": 120}]}, {"_id": 2, "stock": [{"instock": 70}]}]"#, lookup: inventory)
        // Equality and a pipeline together: the pipeline runs over the matches.
        expectPipeline(
            #"[{"$match": {"_id": 1}}, {"$lookup": {"from": "inventory", "localField": "item", "foreignField": "sku", "pipeline": [{"$project": {"_id": 0, "d": "$description"}}], "as": "m"}}, {"$project": {"m": 1}}]"#,
            orders, #"{"_id": 1, "m": [{"d": "product 1"}]}"#, lookup: inventory)
    }

    @Test func lookupErrors() {
        expectError(#"[{"$lookup": {"from": "inventory", "localField": "a", "as": "x"}}]"#, "[]", "needs both 'localField' and 'foreignField'")
        expectError(#"[{"$lookup": {"localField": "a", "foreignField": "b", "as": "x"}}]"#, "[]", "$lookup requires 'from'")
        expectError(#"[{"$lookup": {"from": "c", "let": {"a": 1}, "localField": "a", "foreignField": "b", "as": "x"}}]"#, "[]", "'let' needs a 'pipeline'")
        expectError(#"[{"$lookup": {"from": "c", "pipeline": [{"$project": {"a": "$$nope"}}], "as": "x"}}]"#, "[]",
                    "stage 0 ($lookup): in the $lookup pipeline, stage 0 ($project)", "use of undefined variable: nope")
        expectError(#"[{"$lookup": {"from": "inventory", "localField": "a", "foreignField": "b", "as": "x"}}]"#, #"{"a": 1}"#,
                    "needs a collection resolver")
    }
}

@Suite("stages: $setWindowFields")
struct WindowTests {
    let cakeSales = #"""
        {"_id": 0, "type": "chocolate", "orderDate": {"$date": "2020-05-18T14:10:30Z"}, "state": "CA", "price": 13, "quantity": 120}
        {"_id": 1, "type": "chocolate", "orderDate": {"$date": "2021-03-20T11:30:05Z"}, "state": "WA", "price": 14, "quantity": 140}
        {"_id": 2, "type": "vanilla", "orderDate": {"$date": "2021-01-11T06:31:15Z"}, "state": "CA", "price": 12, "quantity": 145}
        {"_id": 3, "type": "vanilla", "orderDate": {"$date": "2020-02-08T13:13:23Z"}, "state": "WA", "price": 13, "quantity": 104}
        {"_id": 4, "type": "strawberry", "orderDate": {"$date": "2019-05-18T16:09:01Z"}, "state": "CA", "price": 41, "quantity": 162}
        {"_id": 5, "type": "strawberry", "orderDate": {"$date": "2019-01-08T06:12:03Z"}, "state": "WA", "price": 43, "quantity": 134}
        """#

    func outputs(_ pipeline: String, _ input: String, field: String, sourceLocation: SourceLocation = #_sourceLocation) -> [String] {
        do {
            return try run(pipeline, input).map { d in
                "\(d["_id"]!.extendedJSON()):\(d[field].map { $0.extendedJSON() } ?? "missing")"
            }
        } catch {
            Issue.record("\(error)", sourceLocation: sourceLocation)
            return []
        }
    }

    @Test func cumulativeSumPerPartition() {
        expectPipeline(
            #"[{"$setWindowFields": {"partitionBy": "$state", "sortBy": {"orderDate": 1}, "output": {"cumulative": {"$sum": "$quantity", "window": {"documents": ["unbounded", "current"]}}}}}, {"$project": {"state": 1, "cumulative": 1}}]"#,
            cakeSales,
            #"""
            [{"_id": 4, "state": "CA", "cumulative": 162}, {"_id": 0, "state": "CA", "cumulative": 282}, {"_id": 2, "state": "CA", "cumulative": 427},
             {"_id": 5, "state": "WA", "cumulative": 134}, {"_id": 3, "state": "WA", "cumulative": 238}, {"_id": 1, "state": "WA", "cumulative": 378}]
            """#)
    }

    @Test func movingAverageAndWholePartition() {
        #expect(outputs(#"[{"$setWindowFields": {"partitionBy": "$state", "sortBy": {"orderDate": 1}, "output": {"avg": {"$avg": "$quantity", "window": {"documents": [-1, 0]}}}}}]"#, cakeSales, field: "avg")
                == ["4:162.0", "0:141.0", "2:132.5", "5:134.0", "3:119.0", "1:122.0"])
        #expect(outputs(#"[{"$setWindowFields": {"partitionBy": "$state", "output": {"total": {"$sum": "$quantity"}, "max": {"$max": "$price"}}}}]"#, cakeSales, field: "total")
                == ["0:427", "2:427", "4:427", "1:378", "3:378", "5:378"])
        #expect(outputs(#"[{"$setWindowFields": {"sortBy": {"_id": 1}, "output": {"s": {"$push": "$_id", "window": {"documents": [-1, 1]}}}}}]"#, cakeSales, field: "s")
                == ["0:[0,1]", "1:[0,1,2]", "2:[1,2,3]", "3:[2,3,4]", "4:[3,4,5]", "5:[4,5]"])
        #expect(outputs(#"[{"$setWindowFields": {"sortBy": {"_id": 1}, "output": {"s": {"$sum": "$_id", "window": {"documents": [1, 2]}}}}}]"#, cakeSales, field: "s")
                == ["0:3", "1:5", "2:7", "3:9", "4:5", "5:0"])
    }

    @Test func rankDenseRankDocumentNumber() {
        let input = #"[{"_id": 1, "v": 10}, {"_id": 2, "v": 30}, {"_id": 3, "v": 10}, {"_id": 4, "v": 20}, {"_id": 5}, {"_id": 6, "v": null}]"#
        #expect(outputs(#"[{"$setWindowFields": {"sortBy": {"v": -1}, "output": {"r": {"$rank": {}}}}}]"#, input, field: "r")
                == ["2:1", "4:2", "1:3", "3:3", "5:5", "6:5"])
        #expect(outputs(#"[{"$setWindowFields": {"sortBy": {"v": -1}, "output": {"r": {"$denseRank": {}}}}}]"#, input, field: "r")
                == ["2:1", "4:2", "1:3", "3:3", "5:4", "6:4"])
        #expect(outputs(#"[{"$setWindowFields": {"sortBy": {"v": -1}, "output": {"r": {"$documentNumber": {}}}}}]"#, input, field: "r")
                == ["2:1", "4:2", "1:3", "3:4", "5:5", "6:6"])
    }

    @Test func shiftLocfLinearFillExpMovingAvg() {
        #expect(outputs(#"[{"$setWindowFields": {"partitionBy": "$state", "sortBy": {"quantity": -1}, "output": {"next": {"$shift": {"output": "$quantity", "by": 1, "default": "Not available"}}}}}]"#, cakeSales, field: "next")
                == ["4:145", "2:120", #"0:"Not available""#, "1:134", "5:104", #"3:"Not available""#])
        let gaps = #"[{"_id": 1, "t": 1, "v": 10}, {"_id": 2, "t": 2, "v": null}, {"_id": 3, "t": 3}, {"_id": 4, "t": 4, "v": 40}, {"_id": 5, "t": 5}]"#
        #expect(outputs(#"[{"$setWindowFields": {"sortBy": {"t": 1}, "output": {"f": {"$linearFill": "$v"}}}}]"#, gaps, field: "f")
                == ["1:10", "2:20.0", "3:30.0", "4:40", "5:null"])
        #expect(outputs(#"[{"$setWindowFields": {"sortBy": {"t": 1}, "output": {"f": {"$locf": "$v"}}}}]"#, gaps, field: "f")
                == ["1:10", "2:10", "3:10", "4:40", "5:40"])
        let alpha = 2.0 / 3.0
        let e1 = 120 * alpha + 162 * (1 - alpha)
        let e2 = 145 * alpha + e1 * (1 - alpha)
        #expect(outputs(#"[{"$match": {"state": "CA"}}, {"$setWindowFields": {"sortBy": {"orderDate": 1}, "output": {"ema": {"$expMovingAvg": {"input": "$quantity", "N": 2}}}}}]"#, cakeSales, field: "ema")
                == ["4:162.0", "0:\(BSON.double(e1).extendedJSON())", "2:\(BSON.double(e2).extendedJSON())"])
    }

    @Test func timeRangeWindowsOnSensorReadings() {
        #expect(outputs(#"[{"$setWindowFields": {"partitionBy": "$component_name", "sortBy": {"time_received": 1}, "output": {"s": {"$sum": "$data.readings.temperature", "window": {"range": [-30, 0], "unit": "minute"}}}}}]"#, readings, field: "s")
                == ["1:20.5", "2:42.0", "4:23.0", "3:18.0", "5:37.0", "6:19.0"])
        #expect(outputs(#"[{"$setWindowFields": {"sortBy": {"v": 1}, "output": {"c": {"$count": {}, "window": {"range": [-1, 1]}}}}}]"#, #"[{"_id": 1, "v": 1}, {"_id": 2, "v": 2}, {"_id": 3, "v": 2.5}, {"_id": 4, "v": 10}]"#, field: "c")
                == ["1:2", "2:3", "3:2", "4:1"])
        expectError(#"[{"$setWindowFields": {"sortBy": {"t": 1}, "output": {"s": {"$sum": 1, "window": {"range": [-1, 0]}}}}}]"#,
                    #"{"t": {"$date": "2024-01-01T00:00:00Z"}}"#, "a date sortBy needs a 'unit'")
    }

    @Test func derivativeIntegralCovariance() {
        let odometer = #"""
            {"_id": 1, "t": {"$date": "2024-03-01T10:00:00Z"}, "miles": 0}
            {"_id": 2, "t": {"$date": "2024-03-01T10:30:00Z"}, "miles": 30}
            {"_id": 3, "t": {"$date": "2024-03-01T11:00:00Z"}, "miles": 50}
            """#
        #expect(outputs(#"[{"$setWindowFields": {"sortBy": {"t": 1}, "output": {"mph": {"$derivative": {"input": "$miles", "unit": "hour"}, "window": {"documents": [-1, 0]}}}}}]"#, odometer, field: "mph")
                == ["1:null", "2:60.0", "3:40.0"])
        #expect(outputs(#"[{"$setWindowFields": {"sortBy": {"t": 1}, "output": {"area": {"$integral": {"input": "$miles", "unit": "hour"}, "window": {"documents": ["unbounded", "current"]}}}}}]"#, odometer, field: "area")
                == ["1:0.0", "2:7.5", "3:27.5"])
        #expect(outputs(#"[{"$setWindowFields": {"output": {"c": {"$covariancePop": ["$x", "$y"]}, "s": {"$covarianceSamp": ["$x", "$y"]}}}}]"#,
                        #"[{"_id": 1, "x": 1, "y": 2}, {"_id": 2, "x": 2, "y": 4}, {"_id": 3, "x": 3, "y": 6}]"#, field: "c")
                == ["1:1.3333333333333333", "2:1.3333333333333333", "3:1.3333333333333333"])
    }

    /// MongoDB's own `$derivative` example (its manual's deliveryFleet collection): the speeds
    /// it prints for truck 1, to the last bit of the double.
    @Test func derivativeWithUnitMatchesMongoDBsDocumentedExample() throws {
        let fleet = #"""
            {"_id": 1, "truckID": "1", "timeStamp": {"$date": "2020-05-18T14:10:30Z"}, "miles": 1295.1}
            {"_id": 2, "truckID": "1", "timeStamp": {"$date": "2020-05-18T14:11:00Z"}, "miles": 1295.63}
            {"_id": 3, "truckID": "1", "timeStamp": {"$date": "2020-05-18T14:11:30Z"}, "miles": 1296.25}
            {"_id": 4, "truckID": "1", "timeStamp": {"$date": "2020-05-18T14:12:00Z"}, "miles": 1296.76}
            {"_id": 5, "truckID": "2", "timeStamp": {"$date": "2020-05-18T14:10:30Z"}, "miles": 10234.1}
            {"_id": 6, "truckID": "2", "timeStamp": {"$date": "2020-05-18T14:11:00Z"}, "miles": 10234.33}
            {"_id": 7, "truckID": "2", "timeStamp": {"$date": "2020-05-18T14:11:30Z"}, "miles": 10234.73}
            {"_id": 8, "truckID": "2", "timeStamp": {"$date": "2020-05-18T14:12:00Z"}, "miles": 10235.13}
            """#
        let out = try run(
            #"[{"$setWindowFields": {"partitionBy": "$truckID", "sortBy": {"timeStamp": 1}, "output": {"truckAverageSpeed": {"$derivative": {"input": "$miles", "unit": "hour"}, "window": {"range": [-30, 0], "unit": "second"}}}}}, {"$match": {"truckAverageSpeed": {"$gt": 50}}}]"#,
            fleet)
        #expect(out.map { $0["_id"]! } == [2, 3, 4])
        #expect(out.map { $0["truckAverageSpeed"]! } == [.double(63.60000000002401), .double(74.3999999999869), .double(61.199999999998916)])
    }

    /// MongoDB's own `$integral` example (its manual's powerConsumption collection): kilowatt-hours
    /// per meter, exactly the doubles it prints.
    @Test func integralWithUnitMatchesMongoDBsDocumentedExample() throws {
        let meters = #"""
            {"_id": 1, "powerMeterID": "1", "timeStamp": {"$date": "2020-05-18T14:10:30Z"}, "kilowatts": 2.95}
            {"_id": 2, "powerMeterID": "1", "timeStamp": {"$date": "2020-05-18T14:11:00Z"}, "kilowatts": 2.7}
            {"_id": 3, "powerMeterID": "1", "timeStamp": {"$date": "2020-05-18T14:11:30Z"}, "kilowatts": 2.6}
            {"_id": 4, "powerMeterID": "1", "timeStamp": {"$date": "2020-05-18T14:12:00Z"}, "kilowatts": 2.98}
            {"_id": 5, "powerMeterID": "2", "timeStamp": {"$date": "2020-05-18T14:10:30Z"}, "kilowatts": 2.5}
            {"_id": 6, "powerMeterID": "2", "timeStamp": {"$date": "2020-05-18T14:11:00Z"}, "kilowatts": 2.25}
            {"_id": 7, "powerMeterID": "2", "timeStamp": {"$date": "2020-05-18T14:11:30Z"}, "kilowatts": 2.75}
            {"_id": 8, "powerMeterID": "2", "timeStamp": {"$date": "2020-05-18T14:12:00Z"}, "kilowatts": 2.82}
            """#
        let out = try run(
            #"[{"$setWindowFields": {"partitionBy": "$powerMeterID", "sortBy": {"timeStamp": 1}, "output": {"powerMeterKilowattHours": {"$integral": {"input": "$kilowatts", "unit": "hour"}, "window": {"range": ["unbounded", "current"], "unit": "hour"}}}}}]"#,
            meters)
        #expect(out.map { $0["_id"]! } == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(out.map { $0["powerMeterKilowattHours"]! } == [
            .double(0), .double(0.023541666666666666), .double(0.045625), .double(0.068875),
            .double(0), .double(0.019791666666666666), .double(0.040625), .double(0.06383333333333334),
        ])
    }

    /// Without a unit the axis is the sortBy number itself, and results keep MongoDB's number types.
    @Test func derivativeAndIntegralOverNumbers() throws {
        let points = #"[{"_id": 1, "x": 0, "y": 0}, {"_id": 2, "x": 10, "y": 20}, {"_id": 3, "x": 20, "y": 60}]"#
        #expect(outputs(#"[{"$setWindowFields": {"sortBy": {"x": 1}, "output": {"d": {"$derivative": {"input": "$y"}, "window": {"documents": [-1, 0]}}}}}]"#, points, field: "d")
                == ["1:null", "2:2.0", "3:4.0"])
        let out = try run(#"[{"$setWindowFields": {"sortBy": {"x": 1}, "output": {"a": {"$integral": {"input": "$y"}, "window": {"documents": ["unbounded", "current"]}}}}}]"#, points)
        // A window of one point integrates to MongoDB's int 0; trapezoids divide by 2.0, so doubles after.
        #expect(out.map { $0["a"]! } == [.int32(0), .double(100), .double(500)])
    }

    @Test func windowValidation() {
        expectError(#"[{"$setWindowFields": {"output": {"r": {"$rank": {}}}}}]"#, "[]", "$rank requires a sortBy")
        expectError(#"[{"$setWindowFields": {"sortBy": {"a": 1, "b": 1}, "output": {"r": {"$rank": {}}}}}]"#, "[]", "exactly one field")
        expectError(#"[{"$setWindowFields": {"sortBy": {"a": 1}, "output": {"r": {"$rank": {}, "window": {"documents": [-1, 0]}}}}}]"#, "[]", "$rank does not accept a 'window'")
        expectError(#"[{"$setWindowFields": {"sortBy": {"a": 1}, "output": {"s": {"$sum": 1, "window": {"documents": [1, 0]}}}}}]"#, "[]", "lower bound must not be greater than its upper bound")
        expectError(#"[{"$setWindowFields": {"sortBy": {"a": 1}, "output": {"s": {"$sum": 1, "window": {"documents": [-1.5, 0]}}}}}]"#, "[]", "must be integers")
        expectError(#"[{"$setWindowFields": {"sortBy": {"a": 1}, "output": {"s": {"$sum": 1, "window": {"rows": [-1, 0]}}}}}]"#, "[]", "unknown field 'rows'")
        expectError(#"[{"$setWindowFields": {"sortBy": {"a": 1}, "output": {"s": {"$derivative": {"input": "$a"}}}}}]"#, "[]", "$derivative requires a 'window'")
        expectError(#"[{"$setWindowFields": {"output": {"s": {"$sum": 1, "$avg": 1}}}}]"#, "[]", "exactly one window function")
        expectError(#"[{"$setWindowFields": {"sortBy": {"a": 1}, "output": {"s": {"$expMovingAvg": {"input": "$a", "N": 2, "alpha": 0.5}}}}}]"#, "[]", "exactly one of 'N' and 'alpha'")
        expectError(#"[{"$setWindowFields": {"output": {"s": {"$summ": "$a"}}}}]"#, "[]", "accumulator $summ is unknown; did you mean $sum?")
    }
}

@Suite("stages: $densify, $fill, $geoNear")
struct GapFillingAndGeoTests {
    @Test func densifyNumericFullRangeAcrossPartitions() {
        expectPipeline(
            #"[{"$densify": {"field": "altitude", "partitionByFields": ["variety"], "range": {"bounds": "full", "step": 200}}}, {"$project": {"_id": 0, "altitude": 1, "variety": 1}}]"#,
            #"""
            {"_id": 1, "altitude": 600, "variety": "Arabica Typica"}
            {"_id": 2, "altitude": 750, "variety": "Arabica Typica"}
            {"_id": 3, "altitude": 950, "variety": "Arabica Typica"}
            {"_id": 4, "altitude": 1250, "variety": "Gesha"}
            {"_id": 5, "altitude": 1700, "variety": "Gesha"}
            """#,
            #"""
            [{"altitude": 600, "variety": "Arabica Typica"}, {"altitude": 750, "variety": "Arabica Typica"}, {"altitude": 800, "variety": "Arabica Typica"},
             {"altitude": 950, "variety": "Arabica Typica"}, {"altitude": 1000, "variety": "Arabica Typica"}, {"altitude": 1200, "variety": "Arabica Typica"},
             {"altitude": 1400, "variety": "Arabica Typica"}, {"altitude": 1600, "variety": "Arabica Typica"},
             {"altitude": 600, "variety": "Gesha"}, {"altitude": 800, "variety": "Gesha"}, {"altitude": 1000, "variety": "Gesha"},
             {"altitude": 1200, "variety": "Gesha"}, {"altitude": 1250, "variety": "Gesha"}, {"altitude": 1400, "variety": "Gesha"},
             {"altitude": 1600, "variety": "Gesha"}, {"altitude": 1700, "variety": "Gesha"}]
            """#)
    }

    @Test func densifyHourlyReadings() {
        expectPipeline(
            #"[{"$densify": {"field": "t", "range": {"step": 1, "unit": "hour", "bounds": "partition"}}}]"#,
            #"[{"t": {"$date": "2024-03-01T10:00:00Z"}, "v": 1}, {"t": {"$date": "2024-03-01T13:00:00Z"}, "v": 4}]"#,
            #"""
            [{"t": {"$date": "2024-03-01T10:00:00Z"}, "v": 1}, {"t": {"$date": "2024-03-01T11:00:00Z"}},
             {"t": {"$date": "2024-03-01T12:00:00Z"}}, {"t": {"$date": "2024-03-01T13:00:00Z"}, "v": 4}]
            """#)
        expectPipeline(
            #"[{"$densify": {"field": "v", "range": {"step": 2, "bounds": [0, 6]}}}]"#,
            #"[{"v": 3}, {"v": 7}]"#,
            // The upper bound is exclusive.
            #"[{"v": 0}, {"v": 2}, {"v": 3}, {"v": 4}, {"v": 7}]"#)
        expectError(#"[{"$densify": {"field": "t", "range": {"step": 1, "bounds": "full"}}}]"#, #"{"t": {"$date": "2024-03-01T10:00:00Z"}}"#, "$densify needs numeric values")
        expectError(#"[{"$densify": {"field": "$t", "range": {"step": 1, "bounds": "full"}}}]"#, "[]", "is a field name, not an expression")
        expectError(#"[{"$densify": {"field": "t", "range": {"step": 0, "bounds": "full"}}}]"#, "[]", "range.step must be a positive number")
    }

    @Test func fillWithValuesAndMethods() {
        expectPipeline(
            #"[{"$fill": {"output": {"bootsSold": {"value": 0}, "sandalsSold": {"value": 0}}}}]"#,
            #"[{"_id": 1, "bootsSold": 10, "sandalsSold": 20}, {"_id": 2, "sandalsSold": null}, {"_id": 3, "bootsSold": 4}]"#,
            #"[{"_id": 1, "bootsSold": 10, "sandalsSold": 20}, {"_id": 2, "sandalsSold": 0, "bootsSold": 0}, {"_id": 3, "bootsSold": 4, "sandalsSold": 0}]"#)
        expectPipeline(
            #"[{"$fill": {"partitionBy": "$component_name", "sortBy": {"time_received": 1}, "output": {"data.readings.temperature": {"method": "locf"}}}}, {"$project": {"t": "$data.readings.temperature"}}]"#,
            readings,
            #"[{"_id": 1, "t": 20.5}, {"_id": 2, "t": 21.5}, {"_id": 4, "t": 23.0}, {"_id": 3, "t": 18.0}, {"_id": 5, "t": 19.0}, {"_id": 6, "t": 19.0}]"#)
        expectPipeline(
            #"[{"$fill": {"sortBy": {"t": 1}, "output": {"v": {"method": "linear"}}}}]"#,
            #"[{"_id": 1, "t": 0, "v": 0}, {"_id": 2, "t": 1}, {"_id": 3, "t": 4, "v": 8}]"#,
            #"[{"_id": 1, "t": 0, "v": 0}, {"_id": 2, "t": 1, "v": 2.0}, {"_id": 3, "t": 4, "v": 8}]"#)
        expectError(#"[{"$fill": {"output": {"v": {"method": "locf"}}}}]"#, "[]", "requires a sortBy")
        expectError(#"[{"$fill": {"sortBy": {"t": 1}, "output": {"v": {"method": "nearest"}}}}]"#, "[]", "method must be \"locf\" or \"linear\"")
    }

    @Test func geoNear() throws {
        let places = #"""
            {"_id": "far", "location": {"type": "Point", "coordinates": [0, 1]}, "category": "park"}
            {"_id": "near", "location": {"type": "Point", "coordinates": [0, 0.001]}, "category": "park"}
            {"_id": "mid", "location": {"type": "Point", "coordinates": [0.01, 0]}, "category": "cafe"}
            {"_id": "nowhere"}
            """#
        let out = try run(#"[{"$geoNear": {"near": {"type": "Point", "coordinates": [0, 0]}, "key": "location", "distanceField": "dist.m", "maxDistance": 2000}}]"#, places)
        #expect(out.map { $0["_id"]! } == ["near", "mid"])
        let metersPerDegree = 6_378_100.0 * Double.pi / 180
        if case .document(let d)? = out.first?["dist"], let m = d["m"]?.doubleValue {
            #expect(abs(m - 0.001 * metersPerDegree) < 1e-6)
        } else {
            Issue.record("no distance field")
        }
        let parks = try run(#"[{"$geoNear": {"near": [0, 0], "key": "location.coordinates", "distanceField": "d", "query": {"category": "park"}, "includeLocs": "loc"}}]"#, places)
        #expect(parks.map { $0["_id"]! } == ["near", "far"])
        #expect(parks.last?["d"] == .double(1))
        #expect(parks.last?["loc"] == value("[0, 1]"))
        expectError(#"[{"$geoNear": {"near": [0, 0], "distanceField": "d"}}]"#, "[]", "$geoNear needs 'key'")
        expectError(#"[{"$match": {}}, {"$geoNear": {"near": [0, 0], "distanceField": "d", "key": "l"}}]"#, "[]", "$geoNear is only valid as the first stage")
    }
}
