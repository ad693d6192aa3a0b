import FerryLoader
import FerryRun
import FerrySystem
import FerryTestSupport
import Foundation
import Logging
import Synchronization
import Testing

/// FerrySystem stands in for what the host took from Foundation: each helper gives what
/// Foundation gives for the same input.
@Suite struct TextTests {
    /// Path → parent, name, extension, without extension: what NSString's path methods answer
    /// (compared by hand: on this toolchain they trap on small strings, so a test cannot ask them).
    static let paths: [(String, String, String, String, String)] = [
        ("/a/b/c.txt", "/a/b", "c.txt", "txt", "/a/b/c"),
        ("a/b", "a", "b", "", "a/b"),
        ("a", "", "a", "", "a"),
        ("/a", "/", "a", "", "/a"),
        ("/", "/", "/", "", "/"),
        ("a/b/", "a", "b", "", "a/b"),
        ("/a/b.tar.gz", "/a", "b.tar.gz", "gz", "/a/b.tar"),
        ("rel/.hidden", "rel", ".hidden", "", "rel/.hidden"),
        ("/var/lib/ferry/capture/rdk_component_sensor/temp/Readings/2026-12-05T01:02:03Z-ab.capture",
         "/var/lib/ferry/capture/rdk_component_sensor/temp/Readings", "2026-12-05T01:02:03Z-ab.capture", "capture",
         "/var/lib/ferry/capture/rdk_component_sensor/temp/Readings/2026-12-05T01:02:03Z-ab"),
        ("", "", "", "", ""),
    ]

    @Test func filePathsAnswerAsNSStringDoes() {
        for (path, parent, name, ext, without) in Self.paths {
            #expect(FilePaths.parent(path) == parent, "parent of \(path)")
            #expect(FilePaths.name(path) == name, "name of \(path)")
            #expect(FilePaths.extension(path) == ext, "extension of \(path)")
            #expect(FilePaths.removingExtension(path) == without, "\(path) without its extension")
        }
        // A path long enough not to be a small string, which NSString handles.
        let long = Self.paths[8].0
        let ns = long as NSString
        #expect([ns.deletingLastPathComponent, ns.lastPathComponent, ns.pathExtension, ns.deletingPathExtension]
            == [FilePaths.parent(long), FilePaths.name(long), FilePaths.extension(long), FilePaths.removingExtension(long)])
    }

    @Test func joinAddsOneSlash() {
        #expect(FilePaths.join("/a", "b") == "/a/b")
        #expect(FilePaths.join("/a/", "b") == "/a/b")
        #expect(FilePaths.join("", "b") == "b")
        #expect(FilePaths.join("/", "b") == "/b")
        #expect(FilePaths.join("a", "b/c") == "a/b/c")
    }

    @Test(arguments: ["  x  ", "\n\tx y\r\n", "", "   ", "x", " \u{00A0}x"])
    func trimmingAgreesWithFoundation(_ text: String) {
        #expect(text.trimmedWhitespace == text.trimmingCharacters(in: .whitespacesAndNewlines), "\(text.debugDescription)")
    }

    @Test(arguments: [0.0, 0.04, 1.26, 12.5, 59.94, 1234.56, -3.21])
    func oneDecimalAgreesWithPrintf(_ value: Double) {
        #expect(oneDecimal(value) == String(format: "%.1f", value))
    }

    @Test(arguments: ["a%20b", "%E2%82%AC", "plain", "bad%2", "%zz", "%FF", "%2F%2f", ""])
    func percentDecodingAgreesWithFoundation(_ text: String) {
        #expect(percentDecoded(text) == text.removingPercentEncoding, "\(text)")
    }

    @Test func describedFileErrorsNameThePathAndTheReason() {
        do {
            _ = try String(contentsOfFile: "/nonexistent-ferry/x", encoding: .utf8)
            Issue.record("read a file that does not exist")
        } catch {
            #expect(describe(error) == "/nonexistent-ferry/x: No such file or directory")
        }
    }
}

@Suite struct FilesTests {
    @Test func walkFindsWhatTheDirectoryEnumeratorFinds() throws {
        let directory = try TemporaryDirectory("ferry-walk")
        defer { directory.remove() }
        for path in ["a/b/c.capture", "a/d.prog", ".ferry/state", "e.txt", "f/g/h/i"] {
            try FileManager.default.createDirectory(atPath: FilePaths.parent(directory.file(path)), withIntermediateDirectories: true)
            try Data(repeating: 7, count: path.count).write(to: URL(fileURLWithPath: directory.file(path)))
        }
        let walked = try #require(Files.walk(directory.path))
        let enumerated = FileManager.default.enumerator(atPath: directory.path)!.allObjects as! [String]
        #expect(Set(walked.map(\.relative)) == Set(enumerated))
        for entry in walked where entry.isRegularFile {
            #expect(entry.size == Int64(entry.relative.count), "\(entry.relative)")
            #expect(Files.size(directory.file(entry.relative)) == entry.size)
        }
        #expect(walked.first { $0.relative == "f/g" }?.level == 2)
        // A directory left out is not entered, but is itself listed.
        let pruned = try #require(Files.walk(directory.path) { $0.relative != "a" && $0.relative != ".ferry" })
        #expect(Set(pruned.map(\.relative)) == ["a", ".ferry", "e.txt", "f", "f/g", "f/g/h", "f/g/h/i"])
        #expect(Files.walk(directory.file("missing")) == nil)
    }

    @Test func readChunksReadsTheWholeFileInOrder() throws {
        let directory = try TemporaryDirectory("ferry-chunks")
        defer { directory.remove() }
        let bytes = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        try Data(bytes).write(to: URL(fileURLWithPath: directory.file("f")))
        var read: [UInt8] = []
        var chunks = 0
        #expect(Files.readChunks(directory.file("f"), chunkSize: 4096) { read += $0; chunks += 1 })
        #expect(read == bytes && chunks == 3)
        #expect(!Files.readChunks(directory.file("missing")) { _ in })
    }
}

@Suite struct ChildProcessTests {
    func sh(_ script: String, directory: String? = nil, environment: [String: String]? = nil,
            capturing captured: FerrySystem.ChildProcess.Captured = .both,
            timeout: Duration = .seconds(60)) async throws -> FerrySystem.ChildProcess.Outcome {
        try await FerrySystem.ChildProcess.run(
            "/bin/sh", arguments: ["-c", script], directory: directory, environment: environment, capturing: captured, timeout: timeout)
    }

    @Test func exitStatusAndBothOutputsComeBack() async throws {
        let outcome = try await sh("echo out; echo err >&2; exit 3")
        #expect(outcome.termination == .exited(3))
        #expect(String(decoding: outcome.output, as: UTF8.self) == "out\nerr\n")
    }

    @Test func eitherStreamCanBeLeftOut() async throws {
        let errors = try await sh("echo out; echo err >&2", capturing: .standardError)
        #expect(errors.termination == .exited(0))
        #expect(String(decoding: errors.output, as: UTF8.self) == "err\n")
        let output = try await sh("echo out; echo err >&2", capturing: .standardOutput)
        #expect(String(decoding: output.output, as: UTF8.self) == "out\n")
    }

    @Test func aSignalIsReportedAsOne() async throws {
        #expect(try await sh("kill -9 $$").termination == .signalled(9))
    }

    @Test func aProgramPastItsTimeIsKilled() async throws {
        // A program that never ends by itself (and that no other test's clean-up matches by name).
        let outcome = try await sh("exec tail -f /dev/null", timeout: .milliseconds(200))
        #expect(outcome.termination == .timedOut, "\(outcome.termination), \(String(decoding: outcome.output, as: UTF8.self))")
    }

    @Test func itRunsInTheDirectoryAndEnvironmentGivenWithNothingElseOpen() async throws {
        let directory = try TemporaryDirectory("ferry-child")
        defer { directory.remove() }
        let outcome = try await sh("pwd; echo $FERRY_X; ls /proc/self/fd | wc -l", directory: directory.path, environment: ["FERRY_X": "y"])
        let lines = String(decoding: outcome.output, as: UTF8.self).split(separator: "\n").map { $0.trimmedWhitespace }
        #expect(lines.first.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path } == URL(fileURLWithPath: directory.path).resolvingSymlinksInPath().path)
        #expect(lines.dropFirst().first == "y")
        // 0, 1, 2 and the one `ls` opens for /proc/self/fd: no descriptor of the test process.
        #expect(lines.last == "4", "\(lines)")
    }

    @Test func aProgramThatCannotStartIsAnError() async {
        await #expect(throws: FerrySystem.ChildProcess.SpawnError.self) {
            try await FerrySystem.ChildProcess.run("/nonexistent-ferry/program", timeout: .seconds(5))
        }
    }
}

@Suite struct ThreadsTests {
    @Test func aDetachedThreadRunsWithItsName() {
        let name = Mutex<String?>(nil)
        let done = DispatchSemaphore(value: 0)
        OSThread.detach(name: "ferry.test.thread-name-too-long") {
            let comm = try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)
            name.withLock { $0 = comm?.trimmedWhitespace }
            done.signal()
        }
        #expect(done.wait(timeout: .now() + 60) == .success)
        #expect(name.withLock { $0 } == "ferry.test.thre")
    }

    @Test func aRecursiveLockIsTakenAgainByItsHolderOnly() {
        let lock = Lock(recursive: true)
        lock.lock()
        #expect(lock.try(), "its holder takes it again")
        let elsewhere = Mutex<Bool?>(nil)
        let done = DispatchSemaphore(value: 0)
        OSThread.detach {
            let taken = lock.try()
            if taken { lock.unlock() }
            elsewhere.withLock { $0 = taken }
            done.signal()
        }
        #expect(done.wait(timeout: .now() + 60) == .success)
        #expect(elsewhere.withLock { $0 } == false, "another thread does not")
        lock.unlock()
        lock.unlock()
        #expect(Lock().withLock { 42 } == 42)
    }
}

@Suite struct HostRunOptionsTests {
    @Test(arguments: [
        ["machine.json"],
        ["m.json", "--registry", "https://r.example", "--trust", "a.pub", "--trust", "b.pub", "--registry-ca", "ca.pem",
         "--module-cache", "/var/cache", "--isolate-all", "--shutdown-grace", "7.5", "--log-format", "json"],
    ])
    func argumentsParseBackToTheSameOptions(_ command: [String]) throws {
        let options = try HostRunOptions.parse(command)
        let again = try HostRunOptions.parse(options.arguments)
        #expect(again.arguments == options.arguments)
        #expect(again.config == options.config && again.registry == options.registry && again.trust == options.trust)
        #expect(again.registryCA == options.registryCA && again.moduleCache == options.moduleCache && again.isolateAll == options.isolateAll)
        #expect(again.shutdown.shutdownGrace == options.shutdown.shutdownGrace && again.logging.logFormat == options.logging.logFormat)
    }
}

/// The host alone learns what each built-in plugin provides in a child process and remembers it.
@Suite struct BuiltinCatalogTests {
    let sensor = "rdk:component:sensor"

    @Test func builtinsAreInspectedOnceThenLoadedOnFirstUse() async throws {
        let directory = try TemporaryDirectory("ferry-catalog")
        defer { directory.remove() }
        // Copies, so the test can change one (a rebuilt plugin) without touching the build.
        let fake = directory.file("libFerryFake.so"), stats = directory.file("libFerrySystemStats.so")
        try FileManager.default.copyItem(atPath: BuiltProducts.library("FerryFake"), toPath: fake)
        try FileManager.default.copyItem(atPath: BuiltProducts.library("FerrySystemStats"), toPath: stats)
        let cache = directory.file(".ferry/builtin-plugins.json")

        let first = PluginRegistry()
        await BuiltinCatalog.register([fake, stats], in: first, cacheFile: cache, logger: Logger(label: "test"))
        #expect(first.plugins.isEmpty, "nothing is loaded before it is used")
        #expect(first.modelNames(api: sensor).contains("rdk:builtin:fake") && first.modelNames(api: sensor).contains("ferry:linux:system-stats"))
        #expect(first.model(api: sensor, model: "ferry:linux:system-stats") != nil)
        #expect(first.plugins.map(\.name) == ["system-stats"])

        // The next start reads the cache: an entry edited there is believed while the file is unchanged…
        let saved = try String(contentsOfFile: cache, encoding: .utf8)
        #expect(saved.contains("ferry:linux:system-stats"))
        try saved.replacingOccurrences(of: "ferry:linux:system-stats", with: "from-the-cache").write(toFile: cache, atomically: true, encoding: .utf8)
        let second = PluginRegistry()
        await BuiltinCatalog.register([fake, stats], in: second, cacheFile: cache, logger: Logger(label: "test"))
        #expect(second.modelNames(api: sensor).contains("from-the-cache"))

        // …and a plugin that changed is inspected again.
        let later = Date().addingTimeInterval(5)
        try FileManager.default.setAttributes([.modificationDate: later], ofItemAtPath: stats)
        let third = PluginRegistry()
        await BuiltinCatalog.register([fake, stats], in: third, cacheFile: cache, logger: Logger(label: "test"))
        #expect(third.modelNames(api: sensor).contains("ferry:linux:system-stats"))
        #expect(!third.modelNames(api: sensor).contains("from-the-cache"))
    }

    @Test func aLibraryThatCannotBeInspectedIsLoadedAtOnceAndItsErrorReported() async throws {
        let directory = try TemporaryDirectory("ferry-catalog")
        defer { directory.remove() }
        let broken = directory.file("libFerryBroken.so")
        try "not a shared library".write(toFile: broken, atomically: true, encoding: .utf8)
        let registry = PluginRegistry()
        await BuiltinCatalog.register([broken], in: registry, cacheFile: nil, logger: Logger(label: "test"))
        #expect(registry.plugins.isEmpty && registry.modelNames(api: sensor).isEmpty)
        #expect(registry.load(paths: [broken]).count == 1, "loading it fails as it did before")
    }
}
