import FerryFuzzTargets
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `FerryFuzz TARGET …`. Built with `-sanitize=fuzzer,address -DFUZZING` (Fuzz/run.sh) it is
/// libFuzzer's driver for that target and takes libFuzzer's flags and corpus folders; built
/// normally it replays files (or folders of files) through the target and reports any that fail.

nonisolated(unsafe) var selected: FuzzTarget?
// nonisolated(unsafe): set once before libFuzzer starts; libFuzzer then calls the target from one thread.

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    selected?.run(bytes)
    return 0
}

func usage() -> String {
    "usage: FerryFuzz TARGET [libFuzzer flags | replayed files and folders]\ntargets:\n"
        + FuzzTarget.all.map { "  \($0.name): \($0.summary)" }.joined(separator: "\n")
}

#if FUZZING
    @_silgen_name("LLVMFuzzerRunDriver")
    func LLVMFuzzerRunDriver(
        _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt

    /// SwiftPM links an executable's entry point as `<module>_main`; libFuzzer's own `main` is not used.
    @_cdecl("FerryFuzz_main")
    func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
        guard argc >= 2, let target = argv[1].flatMap({ FuzzTarget.named(String(cString: $0)) }) else {
            FileHandle.standardError.write(Data((usage() + "\n").utf8))
            return 2
        }
        selected = target
        // libFuzzer sees the program name and the flags after the target's name.
        var count = argc - 1
        let arguments = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: Int(argc))
        arguments[0] = argv[0]
        for index in 2..<Int(argc) { arguments[index - 1] = argv[index] }
        arguments[Int(argc) - 1] = nil
        var pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = arguments
        return LLVMFuzzerRunDriver(&count, &pointer, testOneInput)
    }
#else
    @main struct Replay {
        static func main() {
            let arguments = CommandLine.arguments.dropFirst()
            if arguments.first == "--write-seeds", let directory = arguments.dropFirst().first {
                do {
                    for (target, seeds) in try FuzzSeeds.all() {
                        let folder = (directory as NSString).appendingPathComponent(target)
                        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                        for (name, bytes) in seeds { try Data(bytes).write(to: URL(fileURLWithPath: folder + "/seed-" + name)) }
                    }
                } catch {
                    print("cannot write seeds to \(directory): \(error)")
                    exit(1)
                }
                return
            }
            guard let name = arguments.first, let target = FuzzTarget.named(name) else {
                print(usage())
                exit(arguments.first == "--list" ? 0 : 2)
            }
            selected = target
            var files: [String] = []
            for path in arguments.dropFirst() {
                var isDirectory: ObjCBool = false
                _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
                if isDirectory.boolValue {
                    let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                    files += names.sorted().map { (path as NSString).appendingPathComponent($0) }
                } else {
                    files.append(path)
                }
            }
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else {
                    print("cannot read \(file)")
                    exit(1)
                }
                target.run([UInt8](data))
            }
            print("\(target.name): \(files.count) inputs replayed, none failed")
        }
    }
#endif
