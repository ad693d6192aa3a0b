import FerryBSON
import Testing

@testable import FerryMQL

@Suite("stages: $group and accumulators, $sortByCount, $bucket, $bucketAuto")
struct StageGroupTests {
    let sales = #"""
        {"_id": 1, "item": "abc", "price": {"$numberDecimal": "10"}, "quantity": 2, "date": {"$date": "2014-03-01T08:00:00Z"}}
        {"_id": 2, "item": "jkl", "price": {"$numberDecimal": "20"}, "quantity": 1, "date": {"$date": "2014-03-01T09:00:00Z"}}
        {"_id": 3, "item": "xyz", "price": {"$numberDecimal": "5"}, "quantity": 10, "date": {"$date": "2014-03-15T09:00:00Z"}}
        {"_id": 4, "item": "xyz", "price": {"$numberDecimal": "5"}, "quantity": 20, "date": {"$date": "2014-04-04T11:21:39.736Z"}}
        {"_id": 5, "item": "abc", "price": {"$numberDecimal": "10"}, "quantity": 10, "date": {"$date": "2014-04-04T21:23:13.331Z"}}
        {"_id": 6, "item": "def", "price": {"$numberDecimal": "7.5"}, "quantity": 5, "date": {"$date": "2015-06-04T05:08:13Z"}}
        {"_id": 7, "item": "def", "price": {"$numberDecimal": "7.5"}, "quantity": 10, "date": {"$date": "2015-09-10T08:43:00Z"}}
        {"_id": 8, "item": "abc", "price": {"$numberDecimal": "10"}, "quantity": 5, "date": {"$date": "2016-02-06T20:20:13Z"}}
        """#

    @Test func mongoDocsSalesExamples() {
        expectPipeline(#"[{"$group": {"_id": null, "count": {"$count": {}}}}]"#, sales, #"{"_id": null, "count": 8}"#)
        expectPipeline(#"[{"$group": {"_id": "$item"}}, {"$sort": {"_id": 1}}]"#, sales,
                       #"[{"_id": "abc"}, {"_id": "def"}, {"_id": "jkl"}, {"_id": "xyz"}]"#)
        expectPipeline(
            #"[{"$group": {"_id": "$item", "totalSaleAmount": {"$sum": {"$multiply": ["$price", "$quantity"]}}}}, {"$match": {"totalSaleAmount": {"$gte": 100}}}, {"$sort": {"_id": 1}}]"#,
            sales,
            #"[{"_id": "abc", "totalSaleAmount": {"$numberDecimal": "170"}}, {"_id": "def", "totalSaleAmount": {"$numberDecimal": "112.5"}}, {"_id": "xyz", "totalSaleAmount": {"$numberDecimal": "150"}}]"#)
        expectPipeline(
            #"""
            [{"$match": {"date": {"$gte": {"$date": "2014-01-01T00:00:00Z"}, "$lt": {"$date": "2015-01-01T00:00:00Z"}}}},
             {"$group": {"_id": {"$dateToString": {"format": "%Y-%m-%d", "date": "$date"}},
                         "totalSaleAmount": {"$sum": {"$multiply": ["$price", "$quantity"]}},
                         "averageQuantity": {"$avg": "$quantity"}, "count": {"$sum": 1}}},
             {"$sort": {"totalSaleAmount": -1}}]
            """#, sales,
            #"""
            [{"_id": "2014-04-04", "totalSaleAmount": {"$numberDecimal": "200"}, "averageQuantity": 15.0, "count": 2},
             {"_id": "2014-03-15", "totalSaleAmount": {"$numberDecimal": "50"}, "averageQuantity": 10.0, "count": 1},
             {"_id": "2014-03-01", "totalSaleAmount": {"$numberDecimal": "40"}, "averageQuantity": 1.5, "count": 2}]
            """#)
    }

    @Test func sensorAccumulators() {
        expectPipeline(
            #"""
            [{"$sort": {"time_received": 1}},
             {"$group": {"_id": "$component_name",
                         "avg": {"$avg": "$data.readings.temperature"}, "min": {"$min": "$data.readings.temperature"},
                         "max": {"$max": "$data.readings.temperature"}, "sum": {"$sum": "$data.readings.temperature"},
                         "n": {"$count": {}}, "first": {"$first": "$data.readings.temperature"},
                         "last": {"$last": "$data.readings.temperature"}, "hum": {"$push": "$data.readings.humidity"}}},
             {"$sort": {"_id": 1}}]
            """#, readings,
            #"""
            [{"_id": "thermo-1", "avg": 21.666666666666668, "min": 20.5, "max": 23.0, "sum": 65.0, "n": 3, "first": 20.5, "last": 23.0, "hum": [40, 42, 41]},
             {"_id": "thermo-2", "avg": 18.5, "min": 18.0, "max": 19.0, "sum": 37.0, "n": 3, "first": 18.0, "last": null, "hum": [55, 57]}]
            """#)
    }

    /// An object `_id` is grouped field value by field value (no key document per row); the
    /// groups must be exactly those of the key documents: a missing field is left out (so it
    /// differs from null), numbers equal across types, a group keeps its first key.
    @Test func objectKeysGroupAsTheirDocuments() {
        let input = #"""
            {"h": 1, "c": "x"}
            {"h": 1.0, "c": "x"}
            {"c": "x"}
            {"h": null, "c": "x"}
            {"h": {"$numberLong": "1"}, "c": "x"}
            {"h": 1}
            {"c": "x", "h": {"$numberDecimal": "1.00"}}
            {"h": "1", "c": "x"}
            {"h": {"$undefined": true}, "c": "x"}
            """#
        let expected = #"""
            [{"_id": {"h": 1, "c": "x"}, "n": 4}, {"_id": {"c": "x"}, "n": 1}, {"_id": {"h": null, "c": "x"}, "n": 1},
             {"_id": {"h": 1}, "n": 1}, {"_id": {"h": "1", "c": "x"}, "n": 1}, {"_id": {"h": {"$undefined": true}, "c": "x"}, "n": 1}]
            """#
        expectPipeline(#"[{"$group": {"_id": {"h": "$h", "c": "$c"}, "n": {"$sum": 1}}}]"#, input, expected)
        // The same key documents built by an operator take the general path: the same groups.
        expectPipeline(#"[{"$group": {"_id": {"$mergeObjects": [{"h": "$h", "c": "$c"}]}, "n": {"$sum": 1}}}]"#, input, expected)
        expectPipeline(#"[{"$group": {"_id": {"k": {"h": "$h"}}, "n": {"$sum": 1}}}, {"$sort": {"n": -1}}, {"$limit": 1}]"#, input,
                       #"{"_id": {"k": {"h": 1}}, "n": 5}"#)
        expectPipeline(#"[{"$group": {"_id": {"a": 1, "b": "k"}, "n": {"$sum": 1}}}]"#, input, #"{"_id": {"a": 1, "b": "k"}, "n": 9}"#)
    }

    @Test func sumTypesAndOverflow() {
        expectPipeline(#"[{"$group": {"_id": null, "s": {"$sum": "$v"}}}]"#, #"[{"v": 1}, {"v": 2}]"#, #"{"_id": null, "s": 3}"#)
        expectPipeline(#"[{"$group": {"_id": null, "s": {"$sum": "$v"}}}]"#, #"[{"v": 2147483647}, {"v": 1}]"#,
                       #"{"_id": null, "s": {"$numberLong": "2147483648"}}"#)
        expectPipeline(#"[{"$group": {"_id": null, "s": {"$sum": "$v"}}}]"#, #"[{"v": {"$numberLong": "9223372036854775807"}}, {"v": 1}]"#,
                       #"{"_id": null, "s": 9.223372036854775808E18}"#)
        expectPipeline(#"[{"$group": {"_id": null, "s": {"$sum": "$v"}}}]"#, #"[{"v": 1}, {"v": 0.5}, {"v": "x"}, {}]"#,
                       #"{"_id": null, "s": 1.5}"#)
        expectPipeline(#"[{"$group": {"_id": null, "s": {"$sum": "$v"}, "a": {"$avg": "$v"}}}]"#, #"[{"v": "x"}]"#,
                       #"{"_id": null, "s": 0, "a": null}"#)
        // Compensated summation: ten 0.1s make exactly 1.
        expectPipeline(#"[{"$group": {"_id": null, "s": {"$sum": "$v"}}}]"#, String(repeating: "{\"v\": 0.1}\n", count: 10),
                       #"{"_id": null, "s": 1.0}"#)
    }

    @Test func stdDevAddToSetMergeObjects() {
        let input = #"[{"g": 1, "v": 2, "o": {"a": 1}}, {"g": 1, "v": 4, "o": {"b": 2}}, {"g": 1, "v": 4, "o": null}, {"g": 1, "v": 4}, {"g": 1, "v": 5}, {"g": 1, "v": 5}, {"g": 1, "v": 7}, {"g": 1, "v": 9, "o": {"a": 3}}]"#
        expectPipeline(#"[{"$group": {"_id": "$g", "pop": {"$stdDevPop": "$v"}, "set": {"$addToSet": "$v"}, "merged": {"$mergeObjects": "$o"}}}]"#,
                       input, #"{"_id": 1, "pop": 2.0, "set": [2, 4, 5, 7, 9], "merged": {"a": 3, "b": 2}}"#)
        expectPipeline(#"[{"$group": {"_id": null, "samp": {"$stdDevSamp": "$v"}}}]"#, #"[{"v": 1}]"#, #"{"_id": null, "samp": null}"#)
    }

    let games = #"""
        {"playerId": "PlayerA", "gameId": "G1", "score": 31}
        {"playerId": "PlayerB", "gameId": "G1", "score": 33}
        {"playerId": "PlayerC", "gameId": "G1", "score": 99}
        {"playerId": "PlayerD", "gameId": "G1", "score": 1}
        {"playerId": "PlayerA", "gameId": "G2", "score": 10}
        {"playerId": "PlayerB", "gameId": "G2", "score": 14}
        {"playerId": "PlayerC", "gameId": "G2", "score": 66}
        {"playerId": "PlayerD", "gameId": "G2", "score": 80}
        """#

    @Test func topBottomAndNAccumulators() {
        expectPipeline(#"[{"$group": {"_id": "$gameId", "top": {"$top": {"output": ["$playerId", "$score"], "sortBy": {"score": -1}}}}}]"#, games,
                       #"[{"_id": "G1", "top": ["PlayerC", 99]}, {"_id": "G2", "top": ["PlayerD", 80]}]"#)
        expectPipeline(#"[{"$group": {"_id": "$gameId", "b": {"$bottom": {"output": ["$playerId", "$score"], "sortBy": {"score": -1}}}}}]"#, games,
                       #"[{"_id": "G1", "b": ["PlayerD", 1]}, {"_id": "G2", "b": ["PlayerA", 10]}]"#)
        expectPipeline(#"[{"$match": {"gameId": "G1"}}, {"$group": {"_id": "$gameId", "t": {"$topN": {"n": 3, "output": "$playerId", "sortBy": {"score": -1}}}, "b": {"$bottomN": {"n": 3, "output": "$score", "sortBy": {"score": -1}}}}}]"#, games,
                       #"[{"_id": "G1", "t": ["PlayerC", "PlayerB", "PlayerA"], "b": [33, 31, 1]}]"#)
        expectPipeline(#"[{"$match": {"gameId": "G1"}}, {"$group": {"_id": "$gameId", "f": {"$firstN": {"n": 3, "input": "$score"}}, "l": {"$lastN": {"n": 3, "input": "$score"}}, "mx": {"$maxN": {"n": 3, "input": "$score"}}, "mn": {"$minN": {"n": 3, "input": "$score"}}}}]"#, games,
                       #"[{"_id": "G1", "f": [31, 33, 99], "l": [33, 99, 1], "mx": [99, 33, 31], "mn": [1, 31, 33]}]"#)
        // n may depend on the group key.
        expectPipeline(#"[{"$group": {"_id": {"gameId": "$gameId"}, "g": {"$firstN": {"n": {"$cond": {"if": {"$eq": ["$gameId", "G2"]}, "then": 1, "else": 2}}, "input": "$score"}}}}]"#, games,
                       #"[{"_id": {"gameId": "G1"}, "g": [31, 33]}, {"_id": {"gameId": "G2"}, "g": [10]}]"#)
        expectPipeline(#"[{"$group": {"_id": "$gameId", "m": {"$median": {"input": "$score", "method": "approximate"}}, "p": {"$percentile": {"input": "$score", "p": [0.25, 1], "method": "approximate"}}}}]"#, games,
                       #"[{"_id": "G1", "m": 31.0, "p": [1.0, 99.0]}, {"_id": "G2", "m": 14.0, "p": [10.0, 80.0]}]"#)
    }

    @Test func groupValidation() {
        expectError(#"[{"$group": {"total": {"$sum": 1}}}]"#, "[]", "stage 0 ($group)", "a group specification must include an _id", stage: 0)
        expectError(#"[{"$match": {}}, {"$sort": {"a": 1}}, {"$group": {"_id": null, "a": {"$avgg": "$x"}}}]"#, "[]",
                    "stage 2 ($group): accumulator $avgg is unknown; did you mean $avg?", stage: 2)
        expectError(#"[{"$group": {"_id": null, "a.b": {"$sum": 1}}}]"#, "[]", "cannot contain '.'")
        expectError(#"[{"$group": {"_id": null, "a": 1}}]"#, "[]", "must be defined as an expression inside an object")
        expectError(#"[{"$group": {"_id": null, "a": {"$sum": 1, "$avg": 1}}}]"#, "[]", "must specify exactly one operator")
        expectError(#"[{"$group": {"_id": null, "a": {"$sum": [1, 2]}}}]"#, "[]", "the $sum accumulator is a unary operator")
        expectError(#"[{"$group": {"_id": null, "a": {"$count": 1}}}]"#, "[]", "$count takes no arguments")
        expectError(#"[{"$group": {"_id": null, "a": {"$topN": {"n": 0, "output": "$x", "sortBy": {"x": 1}}}}}]"#, "[]", "'n' must be greater than 0")
        expectError(#"[{"$group": {"_id": null, "a": {"$median": {"input": "$x", "method": "exact"}}}}]"#, "[]", "'method' must be")
        expectError(#"[{"$group": {"_id": {"$nope": 1}}}]"#, "[]", "expression operator $nope is unknown")
    }

    @Test func sortByCount() {
        expectPipeline(#"[{"$unwind": "$tags"}, {"$sortByCount": "$tags"}]"#,
                       #"[{"tags": ["painting", "satire"]}, {"tags": ["woodcut", "satire"]}, {"tags": ["satire"]}, {"tags": ["painting"]}]"#,
                       #"[{"_id": "satire", "count": 3}, {"_id": "painting", "count": 2}, {"_id": "woodcut", "count": 1}]"#)
        expectError(#"[{"$sortByCount": "tags"}]"#, "[]", "must be a $-prefixed path or an expression object")
    }

    let artists = #"""
        {"_id": 1, "last_name": "Bernard", "first_name": "Emil", "year_born": 1868, "nationality": "France"}
        {"_id": 2, "last_name": "Rippl-Ronai", "first_name": "Joszef", "year_born": 1861, "nationality": "Hungary"}
        {"_id": 3, "last_name": "Ostroumova", "first_name": "Anna", "year_born": 1871, "nationality": "Russia"}
        {"_id": 4, "last_name": "Van Gogh", "first_name": "Vincent", "year_born": 1853, "nationality": "Holland"}
        {"_id": 5, "last_name": "Maurer", "first_name": "Alfred", "year_born": 1868, "nationality": "USA"}
        {"_id": 6, "last_name": "Munch", "first_name": "Edvard", "year_born": 1863, "nationality": "Norway"}
        {"_id": 7, "last_name": "Redon", "first_name": "Odilon", "year_born": 1840, "nationality": "France"}
        {"_id": 8, "last_name": "Diriks", "first_name": "Edvard", "year_born": 1855, "nationality": "Norway"}
        {"_id": 9, "last_name": "Unknown", "first_name": "X", "year_born": "n/a"}
        """#

    @Test func bucket() {
        expectPipeline(
            #"[{"$bucket": {"groupBy": "$year_born", "boundaries": [1840, 1850, 1860, 1870, 1880], "default": "Other", "output": {"count": {"$sum": 1}, "names": {"$push": "$last_name"}}}}]"#,
            artists,
            #"""
            [{"_id": 1840, "count": 1, "names": ["Redon"]}, {"_id": 1850, "count": 2, "names": ["Van Gogh", "Diriks"]},
             {"_id": 1860, "count": 4, "names": ["Bernard", "Rippl-Ronai", "Maurer", "Munch"]},
             {"_id": 1870, "count": 1, "names": ["Ostroumova"]}, {"_id": "Other", "count": 1, "names": ["Unknown"]}]
            """#)
        expectPipeline(#"[{"$bucket": {"groupBy": "$data.readings.temperature", "boundaries": [15, 20, 25], "default": "none"}}]"#, readings,
                       #"[{"_id": 15, "count": 2}, {"_id": 20, "count": 3}, {"_id": "none", "count": 1}]"#)
        expectError(#"[{"$bucket": {"groupBy": "$year_born", "boundaries": [1840, 1850]}}]"#, artists,
                    "$bucket could not find a matching branch for an input, and no default was specified")
        expectError(#"[{"$bucket": {"groupBy": "$a", "boundaries": [1]}}]"#, "[]", "must have at least 2 values")
        expectError(#"[{"$bucket": {"groupBy": "$a", "boundaries": [2, 1]}}]"#, "[]", "must be sorted in ascending order")
        expectError(#"[{"$bucket": {"groupBy": "$a", "boundaries": [1, "a"]}}]"#, "[]", "must have the same type")
        expectError(#"[{"$bucket": {"groupBy": "$a", "boundaries": [1, 5], "default": 3}}]"#, "[]", "'default' field must be less than the lowest boundary")
        expectError(#"[{"$bucket": {"groupBy": "a", "boundaries": [1, 5]}}]"#, "[]", "'groupBy' field must be defined as a $-prefixed path")
    }

    @Test func bucketAuto() {
        let artwork = #"""
            {"_id": 1, "price": {"$numberDecimal": "199.99"}}
            {"_id": 2, "price": {"$numberDecimal": "280.00"}}
            {"_id": 3, "price": {"$numberDecimal": "76.04"}}
            {"_id": 4, "price": {"$numberDecimal": "167.30"}}
            {"_id": 5, "price": {"$numberDecimal": "483.00"}}
            {"_id": 6, "price": {"$numberDecimal": "385.00"}}
            {"_id": 7, "price": {"$numberDecimal": "159.00"}}
            {"_id": 8, "price": {"$numberDecimal": "118.42"}}
            """#
        expectPipeline(#"[{"$bucketAuto": {"groupBy": "$price", "buckets": 4}}]"#, artwork, #"""
            [{"_id": {"min": {"$numberDecimal": "76.04"}, "max": {"$numberDecimal": "159.00"}}, "count": 2},
             {"_id": {"min": {"$numberDecimal": "159.00"}, "max": {"$numberDecimal": "199.99"}}, "count": 2},
             {"_id": {"min": {"$numberDecimal": "199.99"}, "max": {"$numberDecimal": "385.00"}}, "count": 2},
             {"_id": {"min": {"$numberDecimal": "385.00"}, "max": {"$numberDecimal": "483.00"}}, "count": 2}]
            """#)
        // Equal values stay in one bucket.
        expectPipeline(#"[{"$bucketAuto": {"groupBy": "$v", "buckets": 2, "output": {"ids": {"$push": "$_id"}}}}]"#,
                       #"[{"_id": 1, "v": 1}, {"_id": 2, "v": 1}, {"_id": 3, "v": 1}, {"_id": 4, "v": 2}]"#,
                       #"[{"_id": {"min": 1, "max": 2}, "ids": [1, 2, 3]}, {"_id": {"min": 2, "max": 2}, "ids": [4]}]"#)
        expectPipeline(#"[{"$bucketAuto": {"groupBy": "$v", "buckets": 5}}]"#, #"[{"v": 3}, {"v": 1}]"#,
                       #"[{"_id": {"min": 1, "max": 3}, "count": 1}, {"_id": {"min": 3, "max": 3}, "count": 1}]"#)
        expectError(#"[{"$bucketAuto": {"groupBy": "$v", "buckets": 0}}]"#, "[]", "'buckets' field must be greater than 0")
        expectError(#"[{"$bucketAuto": {"groupBy": "$v", "buckets": 2, "granularity": "R7"}}]"#, "[]", "unknown rounding granularity 'R7'")
        expectError(#"[{"$bucketAuto": {"groupBy": "$v", "buckets": 2, "granularity": "R5"}}]"#, #"{"v": "x"}"#, "with numeric boundaries only")
    }

    /// The table in MongoDB's `$bucketAuto` manual ("Comparing Different Granularities"):
    /// `_id` 0…99 into 5 buckets, with each granularity; the bounds and counts it prints.
    @Test func bucketAutoGranularitiesMatchMongoDBsDocumentedTable() throws {
        let things = (0..<100).map { "{\"_id\": \($0)}" }.joined(separator: "\n")
        func buckets(_ granularity: String?) throws -> [String] {
            let option = granularity.map { #", "granularity": "\#($0)""# } ?? ""
            return try run(#"[{"$bucketAuto": {"groupBy": "$_id", "buckets": 5\#(option)}}]"#, things).map { d in
                guard case .document(let id)? = d["_id"] else { return "no _id" }
                return "[\(id["min"]!.numericDouble!), \(id["max"]!.numericDouble!)): \(d["count"]!.numericDouble!)"
            }
        }
        #expect(try buckets(nil) == ["[0.0, 20.0): 20.0", "[20.0, 40.0): 20.0", "[40.0, 60.0): 20.0", "[60.0, 80.0): 20.0", "[80.0, 99.0): 20.0"])
        #expect(try buckets("R20") == ["[0.0, 20.0): 20.0", "[20.0, 40.0): 20.0", "[40.0, 63.0): 23.0", "[63.0, 90.0): 27.0", "[90.0, 100.0): 10.0"])
        #expect(try buckets("E24") == ["[0.0, 20.0): 20.0", "[20.0, 43.0): 23.0", "[43.0, 68.0): 25.0", "[68.0, 91.0): 23.0", "[91.0, 100.0): 9.0"])
        // Fewer buckets than asked for: the series has too few values in the range.
        #expect(try buckets("1-2-5") == ["[0.0, 20.0): 20.0", "[20.0, 50.0): 30.0", "[50.0, 100.0): 50.0"])
        #expect(try buckets("POWERSOF2") == ["[0.0, 32.0): 32.0", "[32.0, 64.0): 32.0", "[64.0, 128.0): 36.0"])
        // Types as MongoDB makes them: series bounds are doubles, powers of two of integers are
        // integers ($pow), and the first minimum is the smallest key rounded down (0 stays 0).
        let powers = try run(#"[{"$bucketAuto": {"groupBy": "$_id", "buckets": 5, "granularity": "POWERSOF2"}}]"#, things)
        #expect(powers.first?["_id"] == .document(["min": 0, "max": 32]))
        let series = try run(#"[{"$bucketAuto": {"groupBy": "$_id", "buckets": 5, "granularity": "1-2-5"}}]"#, things)
        #expect(series.first?["_id"] == .document(["min": 0, "max": 20.0]))
    }

    /// 1-2-5 and powers of two away from the 1…100 range, and MongoDB's rules for zeros: equal keys
    /// stay in one bucket, and a bucket of zeros ends where the next key rounds down to.
    @Test func bucketAutoGranularityEdges() throws {
        let small = #"[{"v": 0.013}, {"v": 0.3}, {"v": 0.7}, {"v": 4}, {"v": 180}, {"v": 900}]"#
        let series = try run(#"[{"$bucketAuto": {"groupBy": "$v", "buckets": 3, "granularity": "1-2-5"}}]"#, small)
        #expect(series.map { $0["_id"]! } == [
            .document(["min": .double(0.01), "max": .double(0.5)]), .document(["min": .double(0.5), "max": .double(5)]),
            .document(["min": .double(5), "max": .double(1000)]),
        ])
        let powers = try run(#"[{"$bucketAuto": {"groupBy": "$v", "buckets": 3, "granularity": "POWERSOF2"}}]"#, small)
        #expect(powers.map { $0["_id"]! } == [
            .document(["min": .double(0.0078125), "max": .double(0.5)]), .document(["min": .double(0.5), "max": 8]),
            .document(["min": 8, "max": 1024]),
        ])
        let zeros = #"[{"v": 0}, {"v": 0}, {"v": 0}, {"v": 0}, {"v": 3}, {"v": 12}]"#
        let out = try run(#"[{"$bucketAuto": {"groupBy": "$v", "buckets": 3, "granularity": "1-2-5"}}]"#, zeros)
        #expect(out.map { $0["_id"]! } == [.document(["min": 0, "max": .double(2)]), .document(["min": .double(2), "max": .double(20)])])
        #expect(out.map { $0["count"]! } == [4, 2])
        expectError(#"[{"$bucketAuto": {"groupBy": "$v", "buckets": 2, "granularity": "POWERSOF2"}}]"#, #"{"v": -1}"#, "non-negative numbers only")
        expectError(#"[{"$bucketAuto": {"groupBy": "$v", "buckets": 2, "granularity": "1-2-5"}}]"#, #"{"v": {"$numberDouble": "NaN"}}"#, "found a NaN")
        expectError(#"[{"$bucketAuto": {"groupBy": "$v", "buckets": 2, "granularity": "1-2-5"}}]"#, #"{"v": {"$numberDouble": "Infinity"}}"#, "finite numbers")
    }

    @Test func bucketAutoGranularityRoundsLikeMongoDB() throws {
        let input = (1...10).map { "{\"v\": \($0)}" }.joined(separator: "\n")
        let out = try run(#"[{"$bucketAuto": {"groupBy": "$v", "buckets": 3, "granularity": "R5"}}]"#, input)
        let tenth = 1.0 / 10, hundredth = 1.0 / 10 / 10
        #expect(out.map { $0["_id"]! } == [
            .document(["min": .double(63 * hundredth), "max": .double(40 * tenth)]),
            .document(["min": .double(40 * tenth), "max": .double(63 * tenth)]),
            .document(["min": .double(63 * tenth), "max": .double(16)]),
        ])
        #expect(out.map { $0["count"]! } == [3, 3, 4])
        let powers = try run(#"[{"$bucketAuto": {"groupBy": "$v", "buckets": 2, "granularity": "POWERSOF2"}}]"#, input)
        #expect(powers.map { $0["_id"]! } == [.document(["min": 0.5, "max": 8]), .document(["min": 8, "max": 16])])
    }
}
