import FerryBSON
import FerrySDK
import FerryTestSupport
import Foundation
import Synchronization
import Testing

@testable import FerryFake

/// A clock the test sets by hand.
final class ManualClock: Sendable {
    private let now: Mutex<Double>
    init(_ start: Double = 1_700_000_000) { now = Mutex(start) }
    func set(_ time: Double) { now.withLock { $0 = time } }
    func advance(_ seconds: Double) { now.withLock { $0 += seconds } }
    var read: FakeClock { { self.now.withLock { $0 } } }
}

func config(_ api: ComponentAPI, name: String = "fake1", _ attributes: BSONDocument = [:]) -> ComponentConfig {
    ComponentConfig(name: name, api: api.rawValue, model: FakeModels.model, attributes: attributes)
}

/// The PluginError `body` throws, or nil (the test then fails on the nil).
func pluginError(_ body: () throws -> Any) -> PluginError? {
    do {
        _ = try body()
        return nil
    } catch let error as PluginError {
        return error
    } catch {
        return nil
    }
}

/// Expects `body` to throw an invalid-argument error whose message contains every one of `words`.
func expectInvalid(_ words: String..., sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Any) {
    let error = pluginError(body)
    #expect(error?.kind == .invalidArgument, "expected .invalidArgument, got \(String(describing: error))", sourceLocation: sourceLocation)
    for word in words {
        #expect(error?.message.contains(word) == true, "\"\(error?.message ?? "")\" should mention \(word)", sourceLocation: sourceLocation)
    }
}

func tabular(_ output: CaptureOutput) -> BSONDocument? {
    if case .tabular(let document) = output { document } else { nil }
}

func binary(_ output: CaptureOutput) -> [BinaryPayload] {
    if case .binary(let payloads) = output { payloads } else { [] }
}

/// Runs a Python 3 script (stdlib only) with arguments; returns its exit status and output.
func python(_ script: String, _ arguments: [String] = []) throws -> (status: Int32, output: String) {
    let result = try FerryProcess.run(["-c", script] + arguments, executable: "/usr/bin/python3")
    return (result.status, result.stdout + result.stderr)
}

/// A fresh temporary directory for one test's files.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("FakePluginTests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func write(_ bytes: [UInt8], to url: URL) throws { try Data(bytes).write(to: url) }
func read(_ url: URL) throws -> [UInt8] { [UInt8](try Data(contentsOf: url)) }
