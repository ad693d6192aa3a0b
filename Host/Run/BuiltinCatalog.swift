import FerryBSON
import FerryLoader
import FerrySystem
import Foundation
import Logging

/// What each built-in plugin provides, learned without loading it into the host: `ferry plugin
/// inspect --json` in a child process, remembered in a cache file by the library's size and
/// modification time (so only a new or rebuilt plugin is inspected again). The host then loads a
/// built-in only when its config first names one of its models (`PluginRegistry.loadOnFirstUse`),
/// and maps none of the others.
package enum BuiltinCatalog {
    struct Entry: Equatable {
        /// The library's `Files.version` when inspected.
        var version: String
        /// [api, model] pairs.
        var models: [[String]]
        var operators: [String]
    }

    /// Registers `libraries` with `registry` to load on first use. A library that cannot be
    /// inspected (it crashes, or is not a plugin) is loaded at once instead, so its error is
    /// reported as it always was.
    package static func register(_ libraries: [String], in registry: PluginRegistry, cacheFile: String?, logger: Logger) async {
        var cache = cacheFile.flatMap(read) ?? [:]
        let versions = Dictionary(libraries.compactMap { library in Files.version(library).map { (library, $0) } }) { first, _ in first }
        let ferry = PluginDiscovery.ferry()
        let learned = await withTaskGroup(of: (String, Entry?).self) { group in
            for (library, version) in versions where cache[library]?.version != version {
                group.addTask { (library, await inspect(library, version: version, ferry: ferry)) }
            }
            return await group.reduce(into: [(String, Entry?)]()) { $0.append($1) }
        }
        for (library, entry) in learned { cache[library] = entry }
        for library in libraries {
            guard let entry = cache[library], entry.version == versions[library] else {
                registry.load(paths: [library])
                continue
            }
            let models = entry.models.filter { $0.count == 2 }.map { ModelKey(api: $0[0], model: $0[1]) }
            registry.loadOnFirstUse(path: library, models: models, operators: entry.operators)
        }
        if let cacheFile, !learned.isEmpty { write(cache.filter { libraries.contains($0.key) }, to: cacheFile, logger: logger) }
    }

    /// What `library` provides, from `ferry plugin inspect --json` (nil when that fails).
    static func inspect(_ library: String, version: String, ferry: String) async -> Entry? {
        guard
            let outcome = try? await ChildProcess.run(
                ferry, arguments: ["plugin", "inspect", "--json", library], capturing: .standardOutput, timeout: .seconds(60)),
            outcome.termination == .exited(0),
            let description = try? BSONDocument(extendedJSON: String(decoding: outcome.output, as: UTF8.self))
        else { return nil }
        let models = (description["models"]?.arrayValue ?? []).compactMap { model -> [String]? in
            guard let api = model.documentValue?["api"]?.stringValue, let name = model.documentValue?["model"]?.stringValue else { return nil }
            return [api, name]
        }
        let operators = (description["mql_operators"]?.arrayValue ?? []).compactMap { $0.documentValue?["name"]?.stringValue }
        return Entry(version: version, models: models, operators: operators)
    }

    // The cache is Extended JSON through FerryBSON, which the host already runs for its config
    // (Codable would bring in code of its own, resident for the life of the process).

    static func read(_ file: String) -> [String: Entry]? {
        guard let data = FileManager.default.contents(atPath: file),
            let document = try? BSONDocument(extendedJSON: String(decoding: data, as: UTF8.self))
        else { return nil }
        var cache: [String: Entry] = [:]
        for element in document {
            let library = element.key
            guard let entry = element.value.documentValue, let version = entry["version"]?.stringValue else { continue }
            let models = (entry["models"]?.arrayValue ?? []).map { ($0.arrayValue ?? []).compactMap(\.stringValue) }
            cache[library] = Entry(version: version, models: models, operators: (entry["operators"]?.arrayValue ?? []).compactMap(\.stringValue))
        }
        return cache
    }

    static func write(_ cache: [String: Entry], to file: String, logger: Logger) {
        var document = BSONDocument()
        for (library, entry) in cache.sorted(by: { $0.key < $1.key }) {
            document[library] = .document([
                "version": .string(entry.version), "models": .array(entry.models.map { .array($0.map(BSON.string)) }),
                "operators": .array(entry.operators.map(BSON.string)),
            ])
        }
        do {
            try FileManager.default.createDirectory(atPath: FilePaths.parent(file), withIntermediateDirectories: true)
            try Data((document.extendedJSON(.relaxed) + "\n").utf8).write(to: URL(fileURLWithPath: file), options: .atomic)
        } catch {
            // Only costs the next start its inspections.
            logger.warning("cannot save what the built-in plugins provide to \(file): \(describe(error))")
        }
    }
}
