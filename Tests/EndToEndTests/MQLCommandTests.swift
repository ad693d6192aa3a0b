import FerryBSON
import FerryTestSupport
import Foundation
import Testing

/// `ferry mql` as a user runs it: documents on stdin or from a file, results on stdout.
@Suite(.ownThreads) struct MQLCommandTests {
    static let readings = (0..<48).map { i in
        #"{"component_name": "\#(i % 2 == 0 ? "thermo" : "hygro")", "time_received": {"$date": "2026-11-22T\#(String(format: "%02d", i / 4)):\#(String(format: "%02d", (i % 4) * 15)):00Z"}, "data": {"readings": {"temperature": \#(20 + i % 5)}}}"#
    }.joined(separator: "\n")

    @Test func hourlyAveragesFromJSONLinesOnStdin() throws {
        let pipeline = #"""
            [{"$match": {"component_name": "thermo"}},
             {"$group": {"_id": {"$dateTrunc": {"date": "$time_received", "unit": "hour"}}, "avg": {"$avg": "$data.readings.temperature"}, "n": {"$sum": 1}}},
             {"$sort": {"_id": 1}}, {"$limit": 2}]
            """#
        let result = try FerryProcess.run(["mql", "--pipeline", pipeline], stdin: Self.readings)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines == [
            #"{"_id":{"$date":"2026-11-22T00:00:00Z"},"avg":21.0,"n":2}"#,
            #"{"_id":{"$date":"2026-11-22T01:00:00Z"},"avg":22.5,"n":2}"#,
        ])
    }

    @Test func pipelineFileInputFileAndArrayOutput() throws {
        let dir = try TemporaryDirectory("ferry-mql")
        defer { dir.remove() }
        try #"[{"$count": "readings"}]"#.write(toFile: dir.file("p.json"), atomically: true, encoding: .utf8)
        try "[\(Self.readings.split(separator: "\n").joined(separator: ","))]".write(toFile: dir.file("in.json"), atomically: true, encoding: .utf8)
        let result = try FerryProcess.run(["mql", "--pipeline-file", dir.file("p.json"), "--input", dir.file("in.json"), "--array"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "[{\"readings\":48}]\n")
    }

    @Test func anInvalidPipelineNamesStageAndOperatorAndPrintsNothing() throws {
        let result = try FerryProcess.run(
            ["mql", "--pipeline", #"[{"$match": {}}, {"$project": {"x": {"$sqrtt": 4}}}]"#], stdin: Self.readings)
        #expect(result.status != 0)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("stage 1 ($project)"))
        #expect(result.stderr.contains("$sqrtt"))
        let out = try FerryProcess.run(["mql", "--pipeline", #"[{"$out": "x"}]"#], stdin: "{}")
        #expect(out.status != 0)
        #expect(out.stdout.isEmpty)
        #expect(out.stderr.contains("$out"))
    }

    @Test func operatorPluginsAreUsableInPipelines() throws {
        // $lttb comes from the built-in libFerryMQLSensor.so, loaded like any plugin.
        let result = try FerryProcess.run(
            ["mql", "--pipeline", #"[{"$lttb": {"x": "$time_received", "y": "$data.readings.temperature", "points": 5, "partitionBy": "$component_name"}}, {"$count": "kept"}]"#],
            stdin: Self.readings)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "{\"kept\":10}\n")
        let bad = try FerryProcess.run(["mql", "--pipeline", #"[{"$lttb": {"x": "$t", "y": "$v", "points": 1}}]"#], stdin: "{}")
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("'points' must be an integer from 3 to 1000000"))
    }
}

/// Every kind of plugin operator the ABI offers, through the real .so and `ferry mql`.
@Suite(.ownThreads) struct PluginOperatorKindsTests {
    @Test func expressionAndAccumulatorOperatorsFromAPlugin() throws {
        let docs = """
            {"s": "a", "t": 20, "rh": 50, "v": 3}
            {"s": "a", "t": 30, "rh": 80, "v": -4}
            {"s": "b", "t": null, "rh": 50, "v": "x"}
            """
        let result = try FerryProcess.run(
            ["mql", "--pipeline", #"""
                [{"$set": {"dew": {"$round": [{"$dewPoint": ["$t", "$rh"]}, 2]}}},
                 {"$group": {"_id": "$s", "rms": {"$rms": "$v"}, "dews": {"$push": "$dew"}}}, {"$sort": {"_id": 1}}]
                """#], stdin: docs)
        #expect(result.status == 0, "\(result.stderr)")
        // Dew points by the Magnus formula: 20 °C at 50 % → 9.26 °C, 30 °C at 80 % → 26.17 °C.
        #expect(result.stdout.split(separator: "\n") == [
            #"{"_id":"a","rms":3.5355339059327378,"dews":[9.26,26.17]}"#,
            #"{"_id":"b","rms":null,"dews":[null]}"#,
        ])
        let bad = try FerryProcess.run(["mql", "--pipeline", #"[{"$set": {"d": {"$dewPoint": "$t"}}}]"#], stdin: "{}")
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("$dewPoint takes [temperature_celsius, relative_humidity_percent]"))
    }
}
