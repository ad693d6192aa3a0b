import FerryBSON
import FerryCaptureFile
import FerryTestSupport
import Foundation
import Synchronization
import Testing
import ViamProtos

@testable import FerrySync

/// A DataUploader that records every attempt and fails the ones it is scripted to.
final class FakeUploader: DataUploader {
    enum Kind: Sendable, Equatable { case tabular, binary, file }

    struct Call: Sendable {
        var kind: Kind
        var metadata: UploadMetadata
        var records: [SensorData] = []
        var key: UploadKey
        var streamingThreshold: Int?
        var path: String?
        /// The file's bytes as they were when FileUpload was called.
        var fileBytes: Data?
        /// What the call threw, or nil when it succeeded.
        var failure: UploadFailure?
    }

    private struct State {
        var calls: [Call] = []
        var failures: [Int: UploadFailure] = [:]
        var failEverything: UploadFailure?
    }

    private let state = Mutex(State())

    /// Makes the `n`-th call (1-based, counting every attempt) throw `failure`.
    func fail(call n: Int, with failure: UploadFailure) { state.withLock { $0.failures[n] = failure } }
    /// Makes every call throw `failure` until set back to nil.
    func failEverything(with failure: UploadFailure?) { state.withLock { $0.failEverything = failure } }

    /// Every attempt, failed or not, in order.
    var calls: [Call] { state.withLock { $0.calls } }
    var succeeded: [Call] { calls.filter { $0.failure == nil } }

    private func attempt(_ call: Call) throws(UploadFailure) {
        let failure = state.withLock { state -> UploadFailure? in
            var call = call
            call.failure = state.failures[state.calls.count + 1] ?? state.failEverything
            state.calls.append(call)
            return call.failure
        }
        if let failure { throw failure }
    }

    func uploadTabular(_ metadata: UploadMetadata, records: [Data], key: UploadKey) async throws(UploadFailure) {
        let decoded = records.map { (try? SensorData(serializedBytes: $0)) ?? SensorData() }
        try attempt(Call(kind: .tabular, metadata: metadata, records: decoded, key: key))
    }

    func uploadBinary(_ metadata: UploadMetadata, record: SensorData, key: UploadKey, streamingThreshold: Int)
        async throws(UploadFailure)
    {
        try attempt(Call(kind: .binary, metadata: metadata, records: [record], key: key, streamingThreshold: streamingThreshold))
    }

    func uploadFile(_ metadata: UploadMetadata, path: String, key: UploadKey) async throws(UploadFailure) {
        try attempt(Call(kind: .file, metadata: metadata, key: key, path: path, fileBytes: FileManager.default.contents(atPath: path)))
    }
}

/// A disk whose usage the test sets.
final class FakeDisk: DiskUsageProbe {
    private let value: Mutex<(used: Int64, total: Int64)?>
    init(used: Int64, total: Int64) { value = Mutex((used, total)) }
    func set(used: Int64, total: Int64) { value.withLock { $0 = (used, total) } }
    func usage(of path: String) -> (used: Int64, total: Int64)? { value.withLock { $0 } }
}

/// Real capture files in Viam's layout.
enum Captures {
    static let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    static func tabularMetadata(component: String = "temp", tags: [String] = ["lab"]) -> DataCaptureMetadata {
        CaptureFile.metadata(
            api: "rdk:component:sensor", component: component, method: "Readings", parameters: ["unit": "celsius"], tabular: true,
            tags: tags)
    }

    static func binaryMetadata(component: String = "cam") -> DataCaptureMetadata {
        CaptureFile.metadata(
            api: "rdk:component:camera", component: component, method: "GetImages", parameters: [:], tabular: false, tags: [],
            mimeType: "image/jpeg")
    }

    static func tabularRecords(_ count: Int, padding: Int = 100, start: Date = t0) -> [SensorData] {
        (0..<count).map { i in
            CaptureFile.tabularRecord(
                ["i": .int32(Int32(i)), "pad": .string(String(repeating: "x", count: padding))],
                requested: start.addingTimeInterval(Double(i)), received: start.addingTimeInterval(Double(i) + 0.001))
        }
    }

    static func payload(_ count: Int, seed: UInt8 = 7) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
    }

    static func binaryRecords(_ payloads: [[UInt8]]) -> [SensorData] {
        payloads.enumerated().map { i, bytes in
            CaptureFile.binaryRecord(bytes, mimeType: "image/jpeg", requested: t0.addingTimeInterval(Double(i)), received: t0)
        }
    }

    static func directory(_ captureDir: String, metadata: DataCaptureMetadata) -> String {
        CaptureFile.directory(
            captureDir: captureDir, api: metadata.componentType, component: metadata.componentName, method: metadata.methodName
        ).path
    }

    /// Writes `<captureDir>/<api>/<component>/<method>/<name>.capture` and returns its path.
    @discardableResult
    static func write(
        _ captureDir: String, name: String, metadata: DataCaptureMetadata = tabularMetadata(), records: [SensorData]
    ) throws -> String {
        let directory = directory(captureDir, metadata: metadata)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var bytes = try CaptureFile.delimited(metadata)
        for record in records { bytes += try CaptureFile.delimited(record) }
        let path = directory + "/" + name + "." + CaptureFile.finishedExtension
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    static func setModified(_ path: String, _ date: Date) throws {
        try FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: path)
    }

    static func writeFile(_ path: String, _ contents: String, modified: Date? = nil) throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(contents.utf8).write(to: URL(fileURLWithPath: path))
        if let modified { try setModified(path, modified) }
    }
}

extension SensorData {
    /// The record's size in an upload request as sync counts it: its encoding and 8 of framing.
    var serializedSizeEstimate: Int { ((try? serializedBytes() as [UInt8])?.count ?? 0) + 8 }
}
