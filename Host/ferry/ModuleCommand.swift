import ArgumentParser
import FerryBSON
import FerryClock
import FerryConfig
import FerryModuleSpec
import FerryModules
import FerryRun
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

struct ModuleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "module",
        abstract: "Publish driver modules to a registry and install them from it.",
        discussion: """
            A registry is a directory (or a file:// URL) that any static HTTP server can serve, or \
            `ferry serve --registry-dir`. Each module has a signed index (Ed25519, DSSE envelope) listing \
            every version's archive per platform with its SHA-256; machines trust publishers' public keys. \
            The layout is described in SDK/README.md.
            """,
        subcommands: [
            Keygen.self, Create.self, Build.self, Upload.self, Yank.self, Sign.self, Verify.self, List.self, Install.self,
        ])

    static func fail(_ error: RegistryError) -> Failure { Failure(error.message) }

    static func load<T>(_ body: () throws(RegistryError) -> T) throws -> T {
        do throws(RegistryError) {
            return try body()
        } catch {
            throw fail(error)
        }
    }

    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make an Ed25519 signing key: writes KEY (private, mode 0600) and KEY's .pub; prints the public key.")

        @Option(help: "Where to write the private key (the public key goes beside it, .key replaced by .pub).")
        var out: String

        func run() throws {
            let publicPath = out.hasSuffix(".key") ? String(out.dropLast(4)) + ".pub" : out + ".pub"
            for path in [out, publicPath] where FileManager.default.fileExists(atPath: path) {
                throw Failure("\(path) already exists; a key is never overwritten (move it away first)")
            }
            let key = SigningKey()
            let fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw Failure("cannot create \(out): \(String(cString: strerror(errno)))") }
            let written = key.pem.withCString { write(fd, $0, strlen($0)) }
            guard written > 0, fsync(fd) == 0, close(fd) == 0 else { throw Failure("cannot write \(out): \(String(cString: strerror(errno)))") }
            do {
                try key.publicKey.pem.write(toFile: publicPath, atomically: true, encoding: .utf8)
            } catch {
                throw Failure("cannot write \(publicPath): \(error.localizedDescription)")
            }
            FileHandle.standardError.write(Data("wrote \(out) (keep it secret) and \(publicPath) (give it to machines: --trust \(publicPath))\nkey id \(key.publicKey.id)\n".utf8))
            print(key.publicKey.pem, terminator: "")
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write meta.json for a new module, with Viam's fields (module_id, visibility, url, description, models, entrypoint, first_run, build).")

        @Option(help: "The module's name (the part after the colon in its id).") var name: String
        @Option(help: "Your namespace (the part before the colon).") var namespace: String
        @Option(help: "private, public or public_unlisted.") var visibility = "private"
        @Option(help: "The module's source repository.") var url = ""
        @Option(help: "What the module provides.") var description = ""
        @Option(name: .customLong("model"), help: "A model it provides, as API=MODEL (e.g. rdk:component:sensor=acme:tmp117:tmp117); repeatable.")
        var models: [String] = []
        @Option(help: "The plugin library the archive holds (default: lib<name>.so).") var entrypoint: String?
        @Option(name: .customLong("first-run"), help: "A setup program run once on each machine after unpacking.") var firstRun = ""
        @Option(name: .customLong("build"), help: "The build command `ferry module build` runs (by /bin/sh, in the module's directory).")
        var buildCommand = "make"
        @Option(help: "The module's directory.") var dir = "."

        func run() throws {
            let id: ModuleID
            do {
                id = try ModuleID(parsing: "\(namespace):\(name)")
            } catch {
                throw ValidationError("--namespace and --name: \(error)")
            }
            guard ["private", "public", "public_unlisted"].contains(visibility) else {
                throw ValidationError("--visibility is private, public or public_unlisted, not \(visibility)")
            }
            var meta = ModuleMeta(moduleID: id.description)
            meta.schema = ModuleMeta.schemaURL
            meta.visibility = visibility
            meta.url = url
            meta.description = description.isEmpty ? "\(name) driver module for Ferry" : description
            meta.models = try models.map { text in
                let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, parts[0].split(separator: ":").count == 3, parts[1].split(separator: ":").count == 3 else {
                    throw ValidationError("--model \(text): write API=MODEL, e.g. rdk:component:sensor=\(namespace):\(name):\(name)")
                }
                return ModuleMeta.Model(api: parts[0], model: parts[1])
            }
            meta.entrypoint = entrypoint ?? "lib\(name).so"
            meta.firstRun = firstRun
            meta.build = ModuleMeta.Build(setup: "", build: buildCommand, path: "module.tar.gz", arch: ["linux/amd64", "linux/arm64"])
            let path = URL(fileURLWithPath: dir).appendingPathComponent(ModuleMeta.fileName).path
            guard !FileManager.default.fileExists(atPath: path) else { throw Failure("\(path) already exists; edit it instead") }
            do {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                try meta.encoded().write(to: URL(fileURLWithPath: path))
            } catch {
                throw Failure("cannot write \(path): \(error.localizedDescription)")
            }
            print("wrote \(path) for \(id); build with `ferry module build`")
        }
    }

    struct Build: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run meta.json's build (setup, then build, by /bin/sh in the module's directory), then pack the module archive.",
            discussion: """
                The archive (build.path, default module.tar.gz) holds meta.json, the entrypoint, first_run if set, \
                a simple-tier manifest (NAME.ferry.json) beside the entrypoint if there is one, README.md and \
                LICENSE if present, and every --include.
                """)

        @Option(help: "The module's directory.") var dir = "."
        @Option(name: .customLong("include"), help: "Another file or directory to pack, relative to the module's directory; repeatable.")
        var includes: [String] = []
        @Flag(name: .customLong("no-build"), help: "Only pack; do not run the build commands.") var noBuild = false

        func run() throws {
            let root = URL(fileURLWithPath: dir).standardizedFileURL.path
            let meta = try ModuleCommand.load { () throws(RegistryError) in try ModuleMeta.load(file: "\(root)/\(ModuleMeta.fileName)") }
            if !noBuild {
                for (step, command) in [("setup", meta.build?.setup), ("build", meta.build?.build)] {
                    guard let command, !command.isEmpty else { continue }
                    FileHandle.standardError.write(Data("ferry module build: \(step): \(command)\n".utf8))
                    let status = Self.shell(command, in: root)
                    guard status == 0 else { throw Failure("the \(step) command `\(command)` exited with \(status); the archive was not packed") }
                }
            }
            guard let entrypoint = meta.entrypoint, !entrypoint.isEmpty else {
                throw Failure("\(root)/meta.json has no entrypoint; set it to the plugin library the build makes")
            }
            var names = [ModuleMeta.fileName, entrypoint]
            if let firstRun = meta.firstRunProgram { names.append(firstRun) }
            // A simple-tier library's manifest sits beside it: NAME.ferry.json or libNAME.ferry.json.
            let folder = (entrypoint as NSString).deletingLastPathComponent
            let stem = ((entrypoint as NSString).lastPathComponent as NSString).deletingPathExtension
            for candidate in [stem, stem.hasPrefix("lib") ? String(stem.dropFirst(3)) : stem] {
                let manifest = (folder as NSString).appendingPathComponent("\(candidate).ferry.json")
                if FileManager.default.fileExists(atPath: "\(root)/\(manifest)"), !names.contains(manifest) { names.append(manifest) }
            }
            for optional in ["README.md", "LICENSE"] where FileManager.default.fileExists(atPath: "\(root)/\(optional)") { names.append(optional) }
            var files: [(path: String, source: String)] = []
            for name in names + includes {
                let full = "\(root)/\(name)"
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory) else {
                    throw Failure("\(full) does not exist; the build should have made it (meta.json names it)")
                }
                if isDirectory.boolValue {
                    let inside = FileManager.default.enumerator(atPath: full)?.compactMap { $0 as? String } ?? []
                    for item in inside.sorted() {
                        var isDir: ObjCBool = false
                        if FileManager.default.fileExists(atPath: "\(full)/\(item)", isDirectory: &isDir), !isDir.boolValue {
                            files.append(("\(name)/\(item)", "\(full)/\(item)"))
                        }
                    }
                } else if !files.contains(where: { $0.path == name }) {
                    files.append((name, full))
                }
            }
            let archive = meta.archivePath.hasPrefix("/") ? meta.archivePath : "\(root)/\(meta.archivePath)"
            try ModuleCommand.load { () throws(RegistryError) in try ModuleArchive.pack(files, to: archive) }
            let digest = (try? shellOutput(["sha256sum", archive]))?.prefix(64) ?? ""
            print("packed \(archive) (\(files.count) files, sha256 \(digest)); publish with `ferry module upload --registry R --key K --version V \(meta.archivePath)`")
        }

        static func shell(_ command: String, in directory: String) -> Int32 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", command]
            process.currentDirectoryURL = URL(fileURLWithPath: directory)
            process.standardOutput = FileHandle.standardError
            process.standardError = FileHandle.standardError
            do {
                try process.run()
            } catch {
                return 127
            }
            process.waitUntilExit()
            return process.terminationStatus
        }

        func shellOutput(_ arguments: [String]) throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
    }

    struct Upload: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish an archive as VERSION for PLATFORM into a registry directory, and re-sign the module's index.")

        @Option(help: "The registry directory (or file:// URL).") var registry: String
        @Option(help: "Your signing key (from `ferry module keygen`).") var key: String
        @Option(help: "The semantic version, e.g. 1.2.0 or 1.3.0-rc.1.") var version: String
        @Option(help: "The platform the archive runs on: linux/amd64, linux/arm64, … or any (default: this machine's).") var platform: String?
        @Option(name: .customLong("module-id"), help: "NAMESPACE:NAME (default: the archive's meta.json, else ./meta.json).") var moduleID: String?
        @Option(name: .customLong("expires-in-days"), help: "How long machines accept the index before it must be re-signed.")
        var expiresInDays = RegistryPublisher.defaultLifetimeDays
        @Argument(help: "The module archive (.tar.gz).") var archive: String

        func run() throws {
            let version = try parsing("--version") { () throws(SemanticVersion.ParseError) in try SemanticVersion(parsing: self.version) }
            let platform = try platform.map { text in try parsing("--platform") { () throws(Platform.ParseError) in try Platform(parsing: text) } } ?? .host
            let root = try RegistryLocation.directory(registry)
            let signingKey = try ModuleCommand.load { () throws(RegistryError) in try SigningKey.load(file: key) }
            var meta = try ModuleCommand.load { () throws(RegistryError) in try RegistryPublisher.meta(inArchive: archive) }
            if meta == nil, FileManager.default.fileExists(atPath: ModuleMeta.fileName) {
                meta = try ModuleCommand.load { () throws(RegistryError) in try ModuleMeta.load(file: ModuleMeta.fileName) }
            }
            guard var meta else {
                throw Failure("\(archive) holds no meta.json and there is none here; pack with `ferry module build`, or pass --module-id and run beside meta.json")
            }
            let id = try parsing("module id") { () throws(ModuleID.ParseError) in try ModuleID(parsing: moduleID ?? meta.moduleID) }
            if let moduleID, moduleID != meta.moduleID {
                throw Failure("--module-id \(moduleID) differs from meta.json's module_id \(meta.moduleID); make them agree")
            }
            meta.moduleID = id.description
            let published = try ModuleCommand.load { () throws(RegistryError) in
                try RegistryPublisher(root: root, key: signingKey).upload(
                    archive: archive, moduleID: id, version: version, platform: platform, meta: meta, lifetimeDays: expiresInDays)
            }
            print("published \(id) \(version) for \(platform): \(published.archivePath) (sha256 \(published.sha256), \(published.size) bytes)")
            print("index version \(published.indexVersion), signed by \(signingKey.publicKey.id), expires \(ISODate.string(Int64(published.expires.timeIntervalSince1970 * 1000)))")
        }
    }

    struct Yank: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Withdraw a published version: machines stop selecting it (an exact pin to it fails, saying why).")
        @Option(help: "The registry directory (or file:// URL).") var registry: String
        @Option(help: "The module's signing key.") var key: String
        @Option(help: "Why, shown to machines pinned to it.") var reason = "withdrawn by its publisher"
        @Option(name: .customLong("expires-in-days"), help: "How long machines accept the re-signed index.")
        var expiresInDays = RegistryPublisher.defaultLifetimeDays
        @Argument(help: "NAMESPACE:NAME@VERSION, e.g. acme:tmp117@1.2.0.") var target: String

        func run() throws {
            let parts = target.split(separator: "@", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("\(target): write NAMESPACE:NAME@VERSION, e.g. acme:tmp117@1.2.0") }
            let id = try parsing("module id") { () throws(ModuleID.ParseError) in try ModuleID(parsing: parts[0]) }
            let version = try parsing("version") { () throws(SemanticVersion.ParseError) in try SemanticVersion(parsing: parts[1]) }
            let root = try RegistryLocation.directory(registry)
            let signingKey = try ModuleCommand.load { () throws(RegistryError) in try SigningKey.load(file: key) }
            let index = try ModuleCommand.load { () throws(RegistryError) in
                try RegistryPublisher(root: root, key: signingKey).yank(id, version, reason: reason, lifetimeDays: expiresInDays)
            }
            print("yanked \(id) \(version) (\(reason)); index version \(index.version)")
        }
    }

    struct Sign: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-sign a module's index with a new expiry (machines refuse an expired index: run this before it expires).")
        @Option(help: "The registry directory (or file:// URL).") var registry: String
        @Option(help: "The module's signing key.") var key: String
        @Option(name: .customLong("expires-in-days"), help: "How long machines accept the index from now.")
        var expiresInDays = RegistryPublisher.defaultLifetimeDays
        @Argument(help: "NAMESPACE:NAME") var moduleID: String

        func run() throws {
            let id = try parsing("module id") { () throws(ModuleID.ParseError) in try ModuleID(parsing: moduleID) }
            let root = try RegistryLocation.directory(registry)
            let signingKey = try ModuleCommand.load { () throws(RegistryError) in try SigningKey.load(file: key) }
            let index = try ModuleCommand.load { () throws(RegistryError) in
                try RegistryPublisher(root: root, key: signingKey).resign(id, lifetimeDays: expiresInDays)
            }
            print("signed \(id) index version \(index.version), expires \(ISODate.string(Int64(index.expires.timeIntervalSince1970 * 1000)))")
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a registry as a machine would: each index's signature, consistency and expiry, and every archive's SHA-256 and entries. Exit 1 on any problem.")
        @Option(help: "The registry: a directory, file:// or http(s):// URL.") var registry: String
        @Option(help: "A public key to trust; repeatable.") var trust: [String] = []
        @Option(name: .customLong("registry-ca"), help: "A PEM CA file for an https:// registry.") var registryCA: String?
        @Argument(help: "Only these modules (NAMESPACE:NAME); default: every module the registry lists.") var modules: [String] = []

        func run() async throws {
            guard !trust.isEmpty else { throw ValidationError("give at least one --trust KEY.pub") }
            var keys: [TrustedKey] = []
            for file in trust { keys.append(try ModuleCommand.load { () throws(RegistryError) in try TrustedKey.load(file: file) }) }
            let source = try ModuleCommand.load { () throws(RegistryError) in try RegistrySource(registry, caFile: registryCA) }
            let verifier = RegistryVerifier(source: source, trust: keys)
            var ids: [ModuleID] = []
            for text in modules { ids.append(try parsing("module id") { () throws(ModuleID.ParseError) in try ModuleID(parsing: text) }) }
            if ids.isEmpty {
                do throws(RegistryError) {
                    ids = try await verifier.moduleIDs()
                } catch {
                    throw Failure(error.message)
                }
            }
            var problems = 0
            for id in ids {
                for finding in await verifier.verify(id) {
                    if let problem = finding.problem {
                        problems += 1
                        print("FAIL \(finding.moduleID) \(finding.subject): \(problem)")
                    } else {
                        print("ok   \(finding.moduleID) \(finding.subject): \(finding.detail)")
                    }
                }
            }
            let modules = ids.count == 1 ? "1 module" : "\(ids.count) modules"
            print(problems == 0 ? "\(modules) verified" : "\(problems) problem\(problems == 1 ? "" : "s") in \(modules)")
            if problems > 0 { throw ExitCode(1) }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show installed modules: id, version, platform, registry, sha256, signer, when installed.")
        @Option(name: .customLong("module-cache"), help: "The module cache (default: FERRY_MODULE_CACHE, the config's, or ferry-modules beside its capture_dir).")
        var moduleCache: String?
        @Flag(help: "Print one JSON object per line instead.") var json = false
        @Argument(help: "A machine config, to find its module cache.") var config: String?

        func run() throws {
            let machine = try config.map { file in
                do {
                    return try ConfigParser.load(file: file)
                } catch {
                    throw Failure("\(error)")
                }
            }
            let settings = RegistrySettings(registry: nil, trust: [], caFile: nil, cache: moduleCache, config: machine)
            let cache = ModuleCache(root: settings.cache)
            let receipts = cache.allInstalled()
            if json {
                for receipt in receipts {
                    var document = try BSONDocument(extendedJSON: String(decoding: ModuleCacheJSON.encode(receipt), as: UTF8.self))
                    document["library"] = .string(cache.libraryPath(receipt) ?? "")
                    print(document.extendedJSON(.relaxed))
                }
                return
            }
            guard !receipts.isEmpty else {
                print("no modules installed in \(cache.root)")
                return
            }
            for receipt in receipts {
                print("\(receipt.moduleID) \(receipt.version) (\(receipt.platform))")
                print("  from      \(receipt.registry)")
                print("  sha256    \(receipt.sha256)")
                print("  signer    \(receipt.signer)\(receipt.signerSource.isEmpty ? "" : " (\(receipt.signerSource))")")
                print("  installed \(ISODate.string(Int64(receipt.installedAt.timeIntervalSince1970 * 1000))) in \(cache.versionDirectory(try! ModuleID(parsing: receipt.moduleID), receipt.version))")
            }
        }
    }

    struct Install: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resolve, verify and install a module into the cache now (what `ferry run` does at start), e.g. to prepare a machine that will run offline.")
        @Option(help: "The registry: a directory, file:// or http(s):// URL (default: FERRY_REGISTRY or the config's).") var registry: String?
        @Option(help: "A public key to trust; repeatable (default: FERRY_REGISTRY_TRUST or the config's).") var trust: [String] = []
        @Option(name: .customLong("registry-ca"), help: "A PEM CA file for an https:// registry.") var registryCA: String?
        @Option(name: .customLong("module-cache"), help: "The module cache (default: FERRY_MODULE_CACHE, the config's, or ferry-modules beside its capture_dir).")
        var moduleCache: String?
        @Option(help: "A machine config, for its registry settings and module cache.") var config: String?
        @Argument(help: "NAMESPACE:NAME@PIN, e.g. acme:tmp117@1.2.* (PIN: 1.2.0, 1.2.*, 1.*, latest, latest-with-prerelease).") var target: String

        func run() async throws {
            LogSetup.bootstrap()
            let parts = target.split(separator: "@", maxSplits: 1).map(String.init)
            let id = try parsing("module id") { () throws(ModuleID.ParseError) in try ModuleID(parsing: parts[0]) }
            let pin = try parsing("version pin") { () throws(VersionPin.ParseError) in try VersionPin(parsing: parts.count == 2 ? parts[1] : "latest") }
            let machine = try config.map { file in
                do {
                    return try ConfigParser.load(file: file)
                } catch {
                    throw Failure("\(error)")
                }
            }
            let settings = RegistrySettings(registry: registry, trust: trust, caFile: registryCA, cache: moduleCache, config: machine)
            do throws(RegistryError) {
                let client = try settings.client(logger: Logger(label: "ferry.modules")).get()
                let acquired = try await client.acquire(id, pin: pin)
                if let reason = acquired.offlineReason {
                    FileHandle.standardError.write(Data("warning: the registry could not be used (\(reason)); the cached version stands\n".utf8))
                }
                print("\(id) \(acquired.receipt.version) (\(acquired.receipt.platform)) \(acquired.library)")
            } catch {
                throw Failure(error.message)
            }
        }
    }
}

/// Receipts as JSON for `ferry module list --json`.
enum ModuleCacheJSON {
    static func encode(_ receipt: ModuleCache.Receipt) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .rfc3339
        return (try? encoder.encode(receipt)) ?? Data("{}".utf8)
    }
}

/// Publishing writes files, so it needs the registry's directory.
enum RegistryLocation {
    static func directory(_ text: String) throws -> String {
        let source = try ModuleCommand.load { () throws(RegistryError) in try RegistrySource(text) }
        guard let directory = source.directory else {
            throw Failure("\(text): publishing writes the registry's files, so --registry must be its directory (or file:// URL); run this where the directory is, e.g. on the `ferry serve --registry-dir` machine")
        }
        return directory
    }
}

/// Parses a value, turning its error into a usage error naming the option.
func parsing<T, E: Error & CustomStringConvertible>(_ what: String, _ body: () throws(E) -> T) throws -> T {
    do throws(E) {
        return try body()
    } catch {
        throw ValidationError("\(what): \(error.description)")
    }
}
