@testable import FerryModules
import FerryTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct ArchiveTests {
    @Test func packedArchivesUnpackAndSystemTarReadsThem() throws {
        let dir = try TemporaryDirectory("ferry-archive")
        defer { dir.remove() }
        let longName = "lib/" + String(repeating: "deep/", count: 25) + "data.bin"
        try Data("plugin".utf8).write(to: URL(fileURLWithPath: dir.file("libx.so")))
        try Data("#!/bin/sh\necho ok\n".utf8).write(to: URL(fileURLWithPath: dir.file("setup.sh")))
        chmod(dir.file("setup.sh"), 0o755)
        let big = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try big.write(to: URL(fileURLWithPath: dir.file("big")))
        let archive = dir.file("module.tar.gz")
        try ModuleArchive.pack([("libx.so", dir.file("libx.so")), ("setup.sh", dir.file("setup.sh")), (longName, dir.file("big"))], to: archive)
        #expect(!FileManager.default.fileExists(atPath: archive + ".partial"))

        let listed = try shell(["tar", "-tzvf", archive])
        #expect(listed.contains("libx.so") && listed.contains(longName) && listed.contains("-rwxr-xr-x"))

        let out = dir.file("out")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let entries = try ModuleArchive.extract(archive, into: out)
        #expect(entries.contains(ModuleArchive.Entry(path: "setup.sh", kind: .file(size: 18, executable: true))))
        #expect(FileManager.default.contents(atPath: "\(out)/\(longName)") == big)
        #expect(FileManager.default.isExecutableFile(atPath: "\(out)/setup.sh"))
        #expect(!FileManager.default.isExecutableFile(atPath: "\(out)/libx.so"))
    }

    @Test func archivesFromSystemTarAndPythonUnpack() throws {
        let dir = try TemporaryDirectory("ferry-archive")
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.file("src/lib"), withIntermediateDirectories: true)
        try Data("so".utf8).write(to: URL(fileURLWithPath: dir.file("src/lib/libx.so.1")))
        try FileManager.default.createSymbolicLink(atPath: dir.file("src/lib/libx.so"), withDestinationPath: "libx.so.1")
        try Data("{}".utf8).write(to: URL(fileURLWithPath: dir.file("src/meta.json")))
        try shell(["tar", "-czf", dir.file("gnu.tar.gz"), "-C", dir.file("src"), "."])
        let entries = try ModuleArchive.inspect(dir.file("gnu.tar.gz"))
        #expect(Set(entries.map(\.path)) == ["lib", "lib/libx.so.1", "lib/libx.so", "meta.json"])
        #expect(entries.contains(.init(path: "lib/libx.so", kind: .symlink(target: "libx.so.1"))))
        try FileManager.default.createDirectory(atPath: dir.file("out"), withIntermediateDirectories: true)
        _ = try ModuleArchive.extract(dir.file("gnu.tar.gz"), into: dir.file("out"))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dir.file("out/lib/libx.so")) == "libx.so.1")

        // pax headers (long names) as Python writes them.
        let long = String(repeating: "n", count: 180)
        try PythonTar.write([.init(name: "a/\(long)", data: "x"), .init(name: "b", type: "dir", mode: 0o755)], to: dir.file("py.tar.gz"))
        #expect(try ModuleArchive.inspect(dir.file("py.tar.gz")).map(\.path) == ["a/\(long)", "b"])
    }

    @Test(arguments: [
        ([PythonTar.Entry(name: "../evil.so", data: "x")], "escapes the module's directory"),
        ([PythonTar.Entry(name: "lib/../../evil.so", data: "x")], "escapes the module's directory"),
        ([PythonTar.Entry(name: "/etc/evil.so", data: "x")], "is an absolute path"),
        ([PythonTar.Entry(name: "up", type: "symlink", link: "../../etc")], "points outside the module's directory"),
        ([PythonTar.Entry(name: "abs", type: "symlink", link: "/etc/passwd")], "links must be relative"),
        ([PythonTar.Entry(name: "d", type: "symlink", link: "."), PythonTar.Entry(name: "d/x.so", data: "x")], "lies under the symbolic link d"),
        ([PythonTar.Entry(name: "a.so", data: "x"), PythonTar.Entry(name: "b.so", type: "hardlink", link: "a.so")], "is a hard link"),
        ([PythonTar.Entry(name: "tty", type: "chr")], "a device, FIFO or other special file"),
        ([PythonTar.Entry(name: "pipe", type: "fifo")], "a device, FIFO or other special file"),
        ([PythonTar.Entry(name: "a.so", data: "x"), PythonTar.Entry(name: "a.so", data: "y")], "appears twice"),
        ([PythonTar.Entry(name: "f", data: "x"), PythonTar.Entry(name: "f/g", data: "y")], "lies under the file f"),
    ])
    func unsafeEntriesAreRefusedBeforeAnythingEscapes(_ entries: [PythonTar.Entry], _ reason: String) throws {
        let dir = try TemporaryDirectory("ferry-archive")
        defer { dir.remove() }
        try PythonTar.write(entries, to: dir.file("bad.tar.gz"))
        let inspected = #expect(throws: RegistryError.self) { try ModuleArchive.inspect(dir.file("bad.tar.gz")) }
        #expect(inspected?.message.contains(reason) == true, "\(inspected?.message ?? "")")
        #expect(inspected?.message.contains("nothing from it is installed") == true)
        let out = dir.file("root/module")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        #expect(throws: RegistryError.self) { try ModuleArchive.extract(dir.file("bad.tar.gz"), into: out) }
        // Nothing was written outside the target directory.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.file("root")) == ["module"])
        #expect(!FileManager.default.fileExists(atPath: dir.file("evil.so")))
    }

    @Test func aDamagedOrForeignFileIsRefused() throws {
        let dir = try TemporaryDirectory("ferry-archive")
        defer { dir.remove() }
        try Data(repeating: 7, count: 4096).write(to: URL(fileURLWithPath: dir.file("data")))
        try ModuleArchive.pack([("data", dir.file("data"))], to: dir.file("ok.tar.gz"))
        var bytes = try Data(contentsOf: URL(fileURLWithPath: dir.file("ok.tar.gz")))
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: dir.file("flipped.tar.gz")))
        #expect(throws: RegistryError.self) { try ModuleArchive.inspect(dir.file("flipped.tar.gz")) }
        try Data("not an archive at all".utf8).write(to: URL(fileURLWithPath: dir.file("plain.tar.gz")))
        let foreign = #expect(throws: RegistryError.self) { try ModuleArchive.inspect(dir.file("plain.tar.gz")) }
        #expect(foreign?.message.contains("not a gzip file") == true)
        let truncated = try Data(contentsOf: URL(fileURLWithPath: dir.file("ok.tar.gz"))).prefix(40)
        try truncated.write(to: URL(fileURLWithPath: dir.file("short.tar.gz")))
        #expect(throws: RegistryError.self) { try ModuleArchive.inspect(dir.file("short.tar.gz")) }
    }
}
