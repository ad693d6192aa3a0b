import FerryBSON
import FerryCaptureFile
import FerryIsolation
import FerryLoader
import FerryMongoWire
import Foundation
import SwiftProtobuf
import ViamProtos

/// The seed corpus: a few small, valid inputs per target that reach deep into its parser, written
/// by `FerryFuzz --write-seeds DIR` and committed under Fuzz/Corpus. libFuzzer grows its own
/// corpus from these (kept out of git; see Fuzz/README.md).
package enum FuzzSeeds {
    /// Every BSON type, nested, as relaxed-and-canonical Extended JSON can spell it.
    static let everyType = """
        {"d": {"$numberDouble": "-1.5e-7"}, "inf": {"$numberDouble": "-Infinity"}, "s": "ünï ☃", "doc": {"a": {"b": [1, {"c": null}]}},
         "arr": [{"$numberInt": "1"}, {"$numberLong": "9007199254740993"}, true, false],
         "bin": {"$binary": {"base64": "AAECAw==", "subType": "04"}}, "u": {"$undefined": true},
         "oid": {"$oid": "5f1a2b3c4d5e6f7081920a1b"}, "date": {"$date": {"$numberLong": "-62135596800000"}}, "n": null,
         "re": {"$regularExpression": {"pattern": "^a.*b$", "options": "imx"}},
         "ptr": {"$dbPointer": {"$ref": "db.c", "$id": {"$oid": "5f1a2b3c4d5e6f7081920a1b"}}},
         "js": {"$code": "function() {}"}, "sym": {"$symbol": "x"},
         "jsws": {"$code": "f(x)", "$scope": {"x": 1}}, "i": {"$numberInt": "-2147483648"},
         "ts": {"$timestamp": {"t": 4294967295, "i": 1}}, "l": {"$numberLong": "-9223372036854775808"},
         "dec": {"$numberDecimal": "-1.23456789012345678901234567890123E+6144"}, "min": {"$minKey": 1}, "max": {"$maxKey": 1}}
        """

    static let readings = """
        {"readings": {"temperature_celsius": 21.5, "ok": true, "label": "greenhouse", "list": [1, 2.5, "x"], "when": {"$date": "2026-01-01T00:00:00Z"}}}
        """

    static func captureFile(tabular: Bool) throws -> [UInt8] {
        let metadata = CaptureFile.metadata(
            api: tabular ? "rdk:component:sensor" : "rdk:component:camera", component: "s", method: tabular ? "Readings" : "ReadImage",
            parameters: ["unit": "celsius", "every": .int32(2)], tabular: tabular, tags: ["fuzz"], mimeType: tabular ? "" : "image/png")
        var bytes = try CaptureFile.delimited(metadata)
        let t = Date(timeIntervalSince1970: 1_767_225_600)
        for i in 0..<3 {
            let record =
                tabular
                ? CaptureFile.tabularRecord(try BSONDocument(extendedJSON: readings), requested: t, received: t.addingTimeInterval(Double(i)))
                : CaptureFile.binaryRecord([0x89, 0x50, 0x4E, 0x47], mimeType: "image/png", requested: t, received: t)
            bytes += try CaptureFile.delimited(record)
        }
        return bytes
    }

    static func uploads() throws -> [String: [UInt8]] {
        var upload = Viam_App_Datasync_V1_UploadMetadata()
        upload.partID = "part"
        upload.componentType = "rdk:component:sensor"
        upload.componentName = "s"
        upload.methodName = "Readings"
        upload.type = .tabularSensor
        upload.tags = ["fuzz"]
        upload.methodParameters = CaptureFile.metadata(
            api: "rdk:component:sensor", component: "s", method: "Readings", parameters: ["unit": "celsius"], tabular: true, tags: []
        ).methodParameters
        var tabular = Viam_App_Datasync_V1_DataCaptureUploadRequest()
        tabular.metadata = upload
        let t = Date(timeIntervalSince1970: 1_767_225_600)
        tabular.sensorContents = [CaptureFile.tabularRecord(try BSONDocument(extendedJSON: readings), requested: t, received: t)]
        var streaming = Viam_App_Datasync_V1_StreamingDataCaptureUploadRequest()
        var streamingMetadata = Viam_App_Datasync_V1_DataCaptureUploadMetadata()
        upload.type = .binarySensor
        upload.mimeType = "image/jpeg"
        streamingMetadata.uploadMetadata = upload
        streamingMetadata.sensorMetadata.timeRequested = Google_Protobuf_Timestamp(date: t)
        streamingMetadata.sensorMetadata.timeReceived = Google_Protobuf_Timestamp(date: t)
        streaming.metadata = streamingMetadata
        var file = Viam_App_Datasync_V1_FileUploadRequest()
        upload.type = .file
        upload.fileName = "notes.txt"
        upload.fileExtension = ".txt"
        upload.fileCreateTime = Google_Protobuf_Timestamp(date: t)
        file.metadata = upload
        // Deterministic: Struct fields and method parameters are maps, and the seeds are compared byte for byte.
        var options = BinaryEncodingOptions()
        options.useDeterministicOrdering = true
        return [
            "tabular": [0] + (try tabular.serializedBytes(options: options)), "streaming": [1] + (try streaming.serializedBytes(options: options)),
            "file": [2] + (try file.serializedBytes(options: options)),
        ]
    }

    /// Seed inputs per target: name → bytes.
    package static func all() throws -> [String: [String: [UInt8]]] {
        let rich = try BSONDocument(extendedJSON: everyType)
        let nested = try BSONDocument(extendedJSON: readings)
        let tabular = try captureFile(tabular: true)
        let binary = try captureFile(tabular: false)
        let cronTime: [UInt8] = [0, 0, 0x3A, 0x9A, 0x6B, 0x5E, 0x80, 0]
        return [
            "bson": ["empty": BSONDocument().encode(), "every-type": rich.encode(), "readings": nested.encode()],
            "extjson": [
                "every-type-canonical": Array(rich.extendedJSON(.canonical).utf8), "every-type-relaxed": Array(rich.extendedJSON(.relaxed).utf8),
                "readings": Array(readings.utf8),
            ],
            "capture": ["tabular": tabular, "binary": binary, "cut-short": Array(tabular.dropLast(7))],
            "recovery": ["tabular": tabular, "cut-short": Array(tabular.dropLast(7)), "header-only": try CaptureFile.delimited(CaptureFile.metadata(api: "a", component: "b", method: "c", parameters: [:], tabular: true, tags: []))],
            "config": [
                "machine": Array(
                    """
                    {"components": [{"name": "t", "api": "rdk:component:sensor", "model": "fake", "attributes": {"x": 1}, "depends_on": [],
                      "service_configs": [{"type": "data_manager", "attributes": {"capture_methods": [{"method": "Readings", "capture_frequency_hz": 2, "additional_params": {"a": "b"}}]}}]},
                      {"name": "cam", "type": "camera", "namespace": "rdk", "model": "webcam", "attributes": {"video_path": "/dev/video0"}, "depends_on": ["t"]}],
                     "services": [{"name": "dm", "api": "rdk:service:data_manager", "attributes": {"capture_dir": "~/capture", "sync_interval_mins": 0.1,
                       "tags": ["a"], "additional_sync_paths": ["extra"], "maximum_num_sync_threads": 2, "delete_every_nth_when_disk_full": 5,
                       "maximum_capture_file_size_bytes": 4096, "selective_syncer_name": "t",
                       "ferry": {"fsync_interval_ms": 100, "data_dir": "data", "listen": "127.0.0.1:0", "capture_dir_max_bytes": 2097152,
                                 "archive_dir": "archive", "pipeline_start_delay_secs": 1}}}],
                     "modules": [{"type": "local", "name": "m", "executable_path": "libm.so"}], "cloud": {"id": "part"}}
                    """.utf8)
            ],
            "mql": [
                "group": Array(#"[{"$match": {"component_name": "a"}}, {"$group": {"_id": {"$dateTrunc": {"date": "$time_received", "unit": "hour"}}, "avg": {"$avg": "$data.readings.t"}, "p": {"$percentile": {"input": "$n", "p": [0.5, 0.9], "method": "approximate"}}}}, {"$sort": {"_id": 1}}]"#.utf8),
                "windows": Array(#"[{"$setWindowFields": {"partitionBy": "$component_name", "sortBy": {"time_received": 1}, "output": {"s": {"$sum": "$n", "window": {"documents": [-2, 0]}}}}}, {"$unwind": "$tags"}, {"$project": {"x": {"$cond": [{"$gt": ["$n", 0]}, {"$concat": ["$data.readings.s", "!"]}, {"$toString": "$n"}]}}}]"#.utf8),
                "facet": Array(#"[{"$facet": {"a": [{"$bucketAuto": {"groupBy": "$n", "buckets": 3}}], "b": [{"$densify": {"field": "n", "range": {"step": 1, "bounds": "full"}}}, {"$count": "c"}]}}, {"$lookup": {"from": "readings", "localField": "n", "foreignField": "n", "as": "j"}}]"#.utf8),
            ],
            "cron": [
                "hourly": cronTime + Array("0 * * * *".utf8), "lists": cronTime + Array("*/15 9-17 1,15 JAN-JUN MON-FRI".utf8),
                "vixie-or": cronTime + Array("0 0 13 * FRI".utf8), "macro": cronTime + Array("@weekly".utf8), "leap": cronTime + Array("0 12 29 2 *".utf8),
            ],
            "ffi-manifest": [
                "tmp102": Array(
                    #"{"name": "tmp102-simple", "version": "1.0.0", "models": [{"model": "acme:simple:tmp102", "readings": {"celsius": "double tmp102_celsius(int bus, int addr)", "raw": "int64_t raw(const char *path, bool fast, float k);"}}]}"#
                        .utf8)
            ],
            "upload": try uploads(),
            "mongo-wire": try mongoWire(),
            "plugin-channel": pluginChannel(),
            "plugin-ring": pluginRing(),
        ]
    }

    /// What a MongoDB client sends first: OP_MSG commands (one with a document sequence), a legacy
    /// OP_QUERY handshake, and a SCRAM client-first message.
    static func mongoWire() throws -> [String: [UInt8]] {
        let find = try MongoFrame.encode(
            .msg(OpMsg(body: ["find": "readings", "filter": ["component_name": "temp", "time_received": ["$gte": .datetime(0)]], "$db": "sensorData"])),
            requestID: 1, responseTo: 0)
        let insert = try MongoFrame.encode(
            .msg(OpMsg(body: ["insert": "readings", "$db": "sensorData"], sequences: [.init(identifier: "documents", documents: [["x": 1.5]])])),
            requestID: 2, responseTo: 0)
        let hello = try MongoFrame.encode(.query(OpQuery(fullCollectionName: "admin.$cmd", query: ["isMaster": 1])), requestID: 3, responseTo: 0)
        return ["find": find, "insert-sequence": insert, "hello-and-find": hello + find, "scram-client-first": Array("n,,n=db-user-x,r=abcdef".utf8)]
    }

    /// A conversation between the host and a plugin process, each side's frames as sent; the
    /// first byte of each seed is also where the target splits it.
    static func pluginChannel() -> [String: [UInt8]] {
        let frames: [ChannelFrame] = [
            ChannelFrame(id: 0, message: .hello(plugin: "fake", version: "1.0", models: [.init(api: "rdk:component:sensor", model: "rdk:builtin:fake", captureMethods: ["Readings"])])),
            ChannelFrame(id: 1, message: .create(api: "rdk:component:sensor", model: "rdk:builtin:fake", config: ["name": "t", "attributes": ["x": 1]])),
            ChannelFrame(id: 1, message: .created(instance: 7)),
            ChannelFrame(id: 2, message: .capture(instance: 7, method: "Readings", parameters: ["a": "b"])),
            ChannelFrame(id: 2, message: .captured(.tabular(["readings": ["t": 21.5]]))),
            ChannelFrame(id: 3, message: .captured(.binary([CapturedBinary(bytes: [0x89, 0x50], mimeType: "image/png", annotations: ["bboxes": []])]))),
            ChannelFrame(id: 4, message: .doCommand(instance: 7, command: ["echo": 1])),
            ChannelFrame(id: 4, message: .commandResult(["echo": 1])),
            ChannelFrame(id: 5, message: .reconfigure(instance: 7, config: [:])),
            ChannelFrame(id: 5, message: .reconfigured(applied: true)),
            ChannelFrame(id: 6, message: .close(instance: 7)),
            ChannelFrame(id: 6, message: .closed),
            ChannelFrame(id: 8, message: .error(PluginCallError(status: .retryLater, message: "bus busy"))),
            ChannelFrame(id: 0, message: .requestSync),
            ChannelFrame(id: -1, message: .captureResource(name: "cam", method: "ReadImage", parameters: ["mime_type": "image/jpeg"])),
        ]
        let all = frames.flatMap(ChannelCodec.encode)
        return [
            "conversation": all,
            "hello": ChannelCodec.encode(frames[0]),
            "captured-binary": ChannelCodec.encode(frames[5]),
            "cut-short": Array(all.dropLast(3)),
        ]
    }

    /// A reply in the slot as a plugin process writes it (sequence 1, its length, its bytes), one
    /// whose length word overstates it, and one a sequence ahead.
    static func pluginRing() -> [String: [UInt8]] {
        func littleEndian(_ value: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
        let reply = ChannelCodec.encode(ChannelFrame(id: 2, message: .captured(.tabular(["readings": ["t": 21.5]]))))
        let binary = ChannelCodec.encode(
            ChannelFrame(id: 3, message: .captured(.binary([CapturedBinary(bytes: [0x89, 0x50], mimeType: "image/png", annotations: ["bboxes": []])]))))
        return [
            "reply": littleEndian(1) + littleEndian(reply.count) + reply,
            "captured-binary": littleEndian(1) + littleEndian(binary.count) + binary,
            "length-overstated": littleEndian(1) + littleEndian(reply.count + 9) + reply,
            "sequence-ahead": littleEndian(2) + littleEndian(reply.count) + reply,
        ]
    }
}
