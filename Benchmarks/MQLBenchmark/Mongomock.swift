import FerryBSON
import Foundation

/// mongomock's side: `mongomock_bench.py` (beside this file) in a python3 subprocess, given the
/// sample as relaxed Extended JSON lines in a temporary file.
enum Mongomock {
    struct Outcome {
        var version: String
        var seconds: Double
        var cpuSeconds: Double
        var rewritten: Bool
        var buckets: [Bucket]
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static var script: String {
        ProcessInfo.processInfo.environment["MQL_BENCH_MONGOMOCK_SCRIPT"]
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("mongomock_bench.py").path
    }

    /// Nil (after saying why) when python3, the script or mongomock is not there.
    static func run(sample: [BSONDocument], pipeline: String, repeats: Int) throws -> Outcome? {
        guard FileManager.default.fileExists(atPath: script) else {
            print("  mongomock skipped: \(script) not found (set MQL_BENCH_MONGOMOCK_SCRIPT)")
            return nil
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-mql-bench-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let samplePath = dir.appendingPathComponent("readings.jsonl")
        let pipelinePath = dir.appendingPathComponent("pipeline.json")
        try Data(sample.map { $0.extendedJSON() }.joined(separator: "\n").utf8).write(to: samplePath)
        try Data(pipeline.utf8).write(to: pipelinePath)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let python = ProcessInfo.processInfo.environment["MQL_BENCH_PYTHON"] ?? "python3"
        process.arguments = [python, script, samplePath.path, pipelinePath.path, String(repeats)]
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        switch process.terminationStatus {
        case 0: break
        case 3:
            print("  mongomock skipped: it is not installed for \(python). Install it with `pip install mongomock` and rerun.")
            return nil
        case 127:
            print("  mongomock skipped: \(python) not found (set MQL_BENCH_PYTHON)")
            return nil
        default:
            throw Failure(description: "mongomock_bench.py exited with \(process.terminationStatus): \(stderr)")
        }
        guard case .document(let result) = try BSON(extendedJSON: String(decoding: stdout, as: UTF8.self)),
            case .array(let times)? = result["seconds"], case .array(let cpuTimes)? = result["cpu_seconds"], case .array(let rows)? = result["results"]
        else { throw Failure(description: "unexpected output from mongomock_bench.py") }
        let buckets = try rows.map { row -> Bucket in
            guard case .document(let d) = row else { throw Failure(description: "unexpected result \(row)") }
            var fixed = d
            // The script prints dates as milliseconds; make `_id` look like FerryMQL's.
            switch d["_id"] {
            case let ms? where ms.int64Value != nil: fixed["_id"] = .datetime(ms.int64Value!)
            case .document(var id)?:
                if let ms = id["hour"]?.int64Value { id["hour"] = .datetime(ms) }
                fixed["_id"] = .document(id)
            default: break
            }
            guard let bucket = try Buckets.from([fixed]).first else { throw Failure(description: "unexpected result \(row)") }
            return bucket
        }
        return Outcome(
            version: result["mongomock"]?.stringValue ?? "?", seconds: times.compactMap(\.doubleValue).min() ?? .nan,
            cpuSeconds: cpuTimes.compactMap(\.doubleValue).min() ?? .nan,
            rewritten: result["rewritten"]?.boolValue ?? false, buckets: buckets)
    }
}
