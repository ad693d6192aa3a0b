import FerryBSON
import Testing

@testable import FerryMQL

@Suite("stages: $project, $addFields/$set, $unset, $replaceRoot/$replaceWith, $redact")
struct StageReshapeTests {
    let book = #"{"_id": 1, "title": "abc123", "isbn": "0001122223334", "author": {"last": "zzz", "first": "aaa"}, "copies": 5, "lastModified": "2016-07-28"}"#

    @Test func projectInclusion() {
        expectPipeline(#"[{"$project": {"title": 1, "author": 1}}]"#, book,
                       #"{"_id": 1, "title": "abc123", "author": {"last": "zzz", "first": "aaa"}}"#)
        expectPipeline(#"[{"$project": {"_id": 0, "title": 1, "author": 1}}]"#, book,
                       #"{"title": "abc123", "author": {"last": "zzz", "first": "aaa"}}"#)
        expectPipeline(#"[{"$project": {"author.first": 1, "copies": true}}]"#, book,
                       #"{"_id": 1, "author": {"first": "aaa"}, "copies": 5}"#)
        expectPipeline(#"[{"$project": {"author": {"first": 1}}}]"#, book, #"{"_id": 1, "author": {"first": "aaa"}}"#)
        // Included fields keep the input's order; computed ones follow in spec order.
        expectPipeline(#"[{"$project": {"copies": 1, "title": 1, "isbnPrefix": {"$substr": ["$isbn", 0, 3]}}}]"#, book,
                       #"{"_id": 1, "title": "abc123", "copies": 5, "isbnPrefix": "000"}"#)
        expectPipeline(#"[{"$project": {"_id": 1}}]"#, book, #"{"_id": 1}"#)
    }

    @Test func projectExclusionAndRemove() {
        expectPipeline(#"[{"$project": {"lastModified": 0, "author.first": 0, "isbn": 0}}]"#, book,
                       #"{"_id": 1, "title": "abc123", "author": {"last": "zzz"}, "copies": 5}"#)
        expectPipeline(#"[{"$project": {"_id": 0}}]"#, #"{"_id": 1, "a": 2}"#, #"{"a": 2}"#)
        expectPipeline(
            #"[{"$project": {"title": 1, "author.first": 1, "author.last": {"$cond": {"if": {"$eq": ["", "$author.last"]}, "then": "$$REMOVE", "else": "$author.last"}}}}]"#,
            #"[{"_id": 1, "title": "t", "author": {"last": "", "first": "a"}}, {"_id": 2, "title": "u", "author": {"last": "b", "first": "c"}}]"#,
            #"[{"_id": 1, "title": "t", "author": {"first": "a"}}, {"_id": 2, "title": "u", "author": {"first": "c", "last": "b"}}]"#)
    }

    @Test func projectThroughArrays() {
        let input = #"{"_id": 1, "a": [{"b": 1, "c": 2}, {"b": 3}, 7, [{"b": 4, "c": 5}]]}"#
        expectPipeline(#"[{"$project": {"a.b": 1}}]"#, input, #"{"_id": 1, "a": [{"b": 1}, {"b": 3}, [{"b": 4}]]}"#)
        expectPipeline(#"[{"$project": {"a.b": 0}}]"#, input, #"{"_id": 1, "a": [{"c": 2}, {}, 7, [{"c": 5}]]}"#)
        // Inclusion drops the array's scalars before computing (MongoDB does the same).
        expectPipeline(#"[{"$project": {"a.x": {"$literal": 1}}}]"#, #"{"_id": 1, "a": [{"b": 1}, 2]}"#,
                       #"{"_id": 1, "a": [{"x": 1}]}"#)
        expectPipeline(#"[{"$addFields": {"a.x": {"$literal": 1}}}]"#, #"{"_id": 1, "a": [{"b": 1}, 2]}"#,
                       #"{"_id": 1, "a": [{"b": 1, "x": 1}, {"x": 1}]}"#)
        expectPipeline(#"[{"$project": {"a.x": {"$literal": 1}}}]"#, #"{"_id": 1, "a": 5}"#, #"{"_id": 1, "a": {"x": 1}}"#)
    }

    @Test func projectValidation() {
        expectError(#"[{"$project": {}}]"#, "[]", "stage 0 ($project)", "at least one field", stage: 0)
        expectError(#"[{"$match": {}}, {"$project": {"a": 1, "b": 0}}]"#, "[]", "stage 1 ($project)", "Cannot do exclusion on field b in inclusion projection", stage: 1)
        expectError(#"[{"$project": {"a": 0, "b": "$x"}}]"#, "[]", "Cannot use expression other than $meta in exclusion projection")
        expectError(#"[{"$project": {"a": 1, "a.b": 1}}]"#, "[]", "Path collision at a.b")
        expectError(#"[{"$project": {"$a": 1}}]"#, "[]", "field names may not start with '$'")
        expectError(#"[{"$project": {"a": {}}}]"#, "[]", "An empty sub-projection is not a valid value")
        expectError(#"[{"$project": {"a": {"$add": [1], "$sub": 1}}}]"#, "[]", "must contain exactly one field")
    }

    @Test func addFieldsAndSet() {
        let scores = #"{"_id": 1, "student": "Maya", "homework": [10, 5, 10], "quiz": [10, 8], "extraCredit": 0}"#
        expectPipeline(
            #"[{"$addFields": {"totalHomework": {"$sum": "$homework"}, "totalQuiz": {"$sum": "$quiz"}}}, {"$addFields": {"totalScore": {"$add": ["$totalHomework", "$totalQuiz", "$extraCredit"]}}}]"#,
            scores,
            #"{"_id": 1, "student": "Maya", "homework": [10, 5, 10], "quiz": [10, 8], "extraCredit": 0, "totalHomework": 25, "totalQuiz": 18, "totalScore": 43}"#)
        // Existing fields are replaced in place; embedded documents merge.
        expectPipeline(#"[{"$set": {"specs.fuel_type": "unleaded", "type": "car"}}]"#,
                       #"{"_id": 1, "type": "Car", "specs": {"doors": 4, "wheels": 4}}"#,
                       #"{"_id": 1, "type": "car", "specs": {"doors": 4, "wheels": 4, "fuel_type": "unleaded"}}"#)
        expectPipeline(#"[{"$addFields": {"specs": {"fuel_type": "unleaded"}}}]"#,
                       #"{"_id": 1, "specs": {"doors": 4}}"#, #"{"_id": 1, "specs": {"doors": 4, "fuel_type": "unleaded"}}"#)
        expectPipeline(#"[{"$addFields": {"a": 1, "b": true, "c": "$$REMOVE", "d": {}}}]"#, #"{"_id": 1, "c": 3}"#,
                       #"{"_id": 1, "a": 1, "b": true, "d": {}}"#)
        expectPipeline(#"[{"$addFields": {"items.discounted": {"$multiply": ["$price", 0.5]}}}]"#,
                       #"{"_id": 1, "price": 10, "items": [{"n": "a"}, {"n": "b"}]}"#,
                       #"{"_id": 1, "price": 10, "items": [{"n": "a", "discounted": 5.0}, {"n": "b", "discounted": 5.0}]}"#)
        expectPipeline(#"[{"$set": {"_id": "$item"}}]"#, #"{"_id": 1, "item": "x"}"#, #"{"_id": "x", "item": "x"}"#)
    }

    @Test func unset() {
        expectPipeline(#"[{"$unset": "copies"}]"#, book,
                       #"{"_id": 1, "title": "abc123", "isbn": "0001122223334", "author": {"last": "zzz", "first": "aaa"}, "lastModified": "2016-07-28"}"#)
        expectPipeline(#"[{"$unset": ["isbn", "author.first", "copies", "lastModified"]}]"#, book,
                       #"{"_id": 1, "title": "abc123", "author": {"last": "zzz"}}"#)
        expectError(#"[{"$unset": 5}]"#, "[]", "$unset specification must be a string or an array")
    }

    @Test func replaceRootAndReplaceWith() {
        let people = #"[{"_id": 1, "name": {"first": "John", "last": "Backus"}}, {"_id": 2, "name": {"first": "John", "last": "McCarthy"}}]"#
        expectPipeline(#"[{"$replaceRoot": {"newRoot": "$name"}}]"#, people,
                       #"[{"first": "John", "last": "Backus"}, {"first": "John", "last": "McCarthy"}]"#)
        expectPipeline(#"[{"$replaceWith": {"$mergeObjects": [{"_id": "$_id"}, "$name"]}}]"#, people,
                       #"[{"_id": 1, "first": "John", "last": "Backus"}, {"_id": 2, "first": "John", "last": "McCarthy"}]"#)
        expectPipeline(#"[{"$replaceWith": "$data.readings"}, {"$limit": 1}]"#, readings, #"{"temperature": 20.5, "humidity": 40}"#)
        expectError(#"[{"$replaceRoot": {"newRoot": "$missing"}}]"#, #"{"_id": 1}"#,
                    "stage 0 ($replaceRoot)", "'newRoot' expression must evaluate to an object", "Type of resulting value: 'missing'", stage: 0)
        expectError(#"[{"$replaceRoot": {"root": "$a"}}]"#, "[]", "unrecognized option to $replaceRoot stage: root")
    }

    @Test func redact() {
        let doc = #"""
            [{"_id": 1, "tags": ["G", "STLW"], "year": 2014,
              "subsections": [{"subtitle": "A", "tags": ["SI", "G"], "content": "x"},
                              {"subtitle": "B", "tags": ["STLW"], "content": "y"},
                              {"subtitle": "C", "tags": ["TK"], "content": {"text": "z", "tags": ["G"]}}]}]
            """#
        let pipeline = #"""
            [{"$redact": {"$cond": {"if": {"$gt": [{"$size": {"$setIntersection": ["$tags", ["STLW", "G"]]}}, 0]},
                                    "then": "$$DESCEND", "else": "$$PRUNE"}}}]
            """#
        expectPipeline(pipeline, doc, #"""
            [{"_id": 1, "tags": ["G", "STLW"], "year": 2014,
              "subsections": [{"subtitle": "A", "tags": ["SI", "G"], "content": "x"},
                              {"subtitle": "B", "tags": ["STLW"], "content": "y"}]}]
            """#)
        expectPipeline(#"[{"$redact": {"$cond": [{"$eq": ["$level", 5]}, "$$PRUNE", "$$KEEP"]}}]"#,
                       #"[{"_id": 1, "level": 1}, {"_id": 2, "level": 5}]"#, #"[{"_id": 1, "level": 1}]"#)
        expectError(#"[{"$redact": "yes"}]"#, #"{"_id": 1}"#, "$redact's expression should not return anything aside from the variables")
        expectError(#"[{"$project": {"a": "$$KEEP"}}]"#, "[]", "use of undefined variable: KEEP")
    }
}

@Suite("stages: $limit, $skip, $count, $sort, $unwind, $sample")
struct StageFlowTests {
    @Test func limitSkipCount() {
        expectPipeline(#"[{"$skip": 2}, {"$limit": 2}, {"$project": {"_id": 1}}]"#, readings, #"[{"_id": 3}, {"_id": 4}]"#)
        expectPipeline(#"[{"$match": {"component_name": "thermo-2"}}, {"$count": "readings"}]"#, readings, #"{"readings": 3}"#)
        expectPipeline(#"[{"$match": {"component_name": "none"}}, {"$count": "n"}]"#, readings, "[]")
        expectError(#"[{"$limit": 0}]"#, "[]", "the limit must be positive")
        expectError(#"[{"$limit": 1.5}]"#, "[]", "$limit")
        expectError(#"[{"$skip": -1}]"#, "[]", "the number to skip must be non-negative")
        expectError(#"[{"$count": "$n"}]"#, "[]", "the count field cannot be a $-prefixed path")
        expectError(#"[{"$count": "a.b"}]"#, "[]", "the count field cannot contain '.'")
    }

    @Test func sortAndSortLimit() {
        expectPipeline(#"[{"$sort": {"data.readings.temperature": -1}}, {"$limit": 2}, {"$project": {"_id": 1}}]"#, readings,
                       #"[{"_id": 4}, {"_id": 2}]"#)
        expectPipeline(#"[{"$sort": {"component_name": 1, "time_received": -1}}, {"$project": {"_id": 1}}]"#, readings,
                       #"[{"_id": 4}, {"_id": 2}, {"_id": 1}, {"_id": 6}, {"_id": 5}, {"_id": 3}]"#)
        // Top-k keeps ties in input order.
        expectPipeline(#"[{"$sort": {"k": 1}}, {"$limit": 3}]"#, #"[{"_id": 1, "k": 2}, {"_id": 2, "k": 1}, {"_id": 3, "k": 1}, {"_id": 4, "k": 1}]"#,
                       #"[{"_id": 2, "k": 1}, {"_id": 3, "k": 1}, {"_id": 4, "k": 1}]"#)
        expectError(#"[{"$sort": {"a": 2}}]"#, "[]", "$sort key ordering must be 1 (for ascending) or -1 (for descending)")
        expectError(#"[{"$sort": {}}]"#, "[]", "$sort must have at least one sort key")
    }

    @Test func unwind() {
        let input = #"[{"_id": 1, "item": "A", "sizes": ["S", "M"]}, {"_id": 2, "item": "B", "sizes": []}, {"_id": 3, "item": "C", "sizes": "M"}, {"_id": 4, "item": "D"}, {"_id": 5, "item": "E", "sizes": null}]"#
        expectPipeline(#"[{"$unwind": "$sizes"}]"#, input,
                       #"[{"_id": 1, "item": "A", "sizes": "S"}, {"_id": 1, "item": "A", "sizes": "M"}, {"_id": 3, "item": "C", "sizes": "M"}]"#)
        expectPipeline(#"[{"$unwind": {"path": "$sizes", "includeArrayIndex": "idx", "preserveNullAndEmptyArrays": true}}]"#, input, #"""
            [{"_id": 1, "item": "A", "sizes": "S", "idx": {"$numberLong": "0"}}, {"_id": 1, "item": "A", "sizes": "M", "idx": {"$numberLong": "1"}},
             {"_id": 2, "item": "B", "idx": null}, {"_id": 3, "item": "C", "sizes": "M", "idx": null},
             {"_id": 4, "item": "D", "idx": null}, {"_id": 5, "item": "E", "sizes": null, "idx": null}]
            """#)
        expectPipeline(#"[{"$unwind": "$a.b"}]"#, #"{"_id": 1, "a": {"b": [1, 2], "c": 3}}"#,
                       #"[{"_id": 1, "a": {"b": 1, "c": 3}}, {"_id": 1, "a": {"b": 2, "c": 3}}]"#)
        expectError(#"[{"$unwind": "sizes"}]"#, "[]", "path option to $unwind stage should be prefixed with a '$'")
        expectError(#"[{"$unwind": {"path": "$a", "foo": 1}}]"#, "[]", "unrecognized option to $unwind stage: foo")
    }

    @Test func sampleIsAReproducibleSubset() throws {
        let p = try MQLPipeline(json: #"[{"$sample": {"size": 3}}]"#, options: MQLOptions(randomSeed: 7))
        let input = documents(readings)
        let a = try p.run(input), b = try p.run(input)
        #expect(a == b)
        #expect(a.count == 3)
        #expect(Set(a.compactMap { $0["_id"]?.int64Value }).count == 3)
        #expect(try p.run(Array(input.prefix(2))).count == 2)
        expectError(#"[{"$sample": {"size": -1}}]"#, "[]", "the size must be non-negative")
        expectError(#"[{"$sample": {"n": 1}}]"#, "[]", "unrecognized option to $sample: n")
    }
}
