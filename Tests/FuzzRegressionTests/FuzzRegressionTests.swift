import FerryFuzzTargets
import FerryTestSupport
import Foundation
import Testing

/// Every committed fuzz input — the seed corpus and each input that once crashed a target — run
/// through its target's checks in the normal test build. A regression crashes this test process.
@Suite struct FuzzRegressionTests {
    static let root = TestData.packageRoot()!.appendingPathComponent("Fuzz")

    static func inputs(_ folder: String, _ target: String) -> [URL] {
        let directory = root.appendingPathComponent(folder).appendingPathComponent(target)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { directory.appendingPathComponent($0) }
    }

    @Test(arguments: FuzzTarget.all.map(\.name))
    func seedsAndRegressionsPass(target name: String) throws {
        let target = try #require(FuzzTarget.named(name))
        let seeds = Self.inputs("Corpus", name)
        #expect(!seeds.isEmpty, "no seed corpus in Fuzz/Corpus/\(name)")
        for input in seeds + Self.inputs("Regressions", name) {
            target.run([UInt8](try Data(contentsOf: input)))
        }
    }

    /// The committed seeds are what `FerryFuzz --write-seeds` writes today, so they cannot drift
    /// from the formats they seed.
    @Test func committedSeedsMatchTheGenerator() throws {
        for (target, seeds) in try FuzzSeeds.all() {
            for (name, bytes) in seeds {
                let path = Self.root.appendingPathComponent("Corpus/\(target)/seed-\(name)").path
                #expect(FileManager.default.contents(atPath: path).map([UInt8].init) == bytes, "\(path) differs from FuzzSeeds; rerun FerryFuzz --write-seeds Fuzz/Corpus")
            }
        }
    }
}
