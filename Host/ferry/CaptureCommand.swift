import ArgumentParser
import FerryBSON
import FerryCaptureFile
import FerryRun
import Foundation

struct CaptureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture", abstract: "Inspect capture files.", subcommands: [Cat.self])

    struct Cat: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every record of capture files as one JSON line each (relaxed Extended JSON).",
            discussion: """
                PATH is a .capture/.prog file or a directory (searched recursively). Each line holds the file's \
                metadata and one reading: tabular data under "data", binary payloads as {mime_type, size} under \
                "binary" (with --binary, base64 bytes too). A file that cannot be read is reported on stderr; the \
                others are still printed, and the exit status is 1.
                """)

        @Argument(help: "A capture file or a directory of them.")
        var path: String

        @Flag(help: "Include binary payloads' bytes (base64).")
        var binary = false

        func run() throws {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw Failure("\(path): no such file or directory")
            }
            let files =
                isDirectory.boolValue
                ? (CaptureRecovery.files(in: path, withExtension: CaptureFile.finishedExtension)
                    + CaptureRecovery.files(in: path, withExtension: CaptureFile.inProgressExtension)).sorted()
                : [path]
            var failures = 0
            for file in files {
                // The writer creates a file and writes its header at once: an empty .prog found in a
                // directory is being started and holds nothing yet (named alone, it is still reported).
                if isDirectory.boolValue, file.hasSuffix(".prog"),
                    (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) == 0
                {
                    continue
                }
                do {
                    try printRecords(of: file)
                } catch where isDirectory.boolValue && !FileManager.default.fileExists(atPath: file) {
                    // A live directory: since the listing, the writer closed the file (.prog → .capture)
                    // or sync uploaded and removed it. Read it under its closed name; skip what is gone.
                    let prog = CaptureFile.inProgressExtension
                    let closed = file.hasSuffix("." + prog) ? String(file.dropLast(prog.count)) + CaptureFile.finishedExtension : file
                    guard closed != file, FileManager.default.fileExists(atPath: closed) else { continue }
                    do { try printRecords(of: closed) } catch { failures += 1; report(error) }
                } catch {
                    failures += 1
                    report(error)
                }
            }
            if failures > 0 { throw ExitCode(1) }
        }

        /// An open .prog may end mid-record while it is being written; its whole records are shown.
        func printRecords(of file: String) throws {
            let contents = try CaptureFileReader.read(path: file, strict: !file.hasSuffix(".prog"))
            for record in contents.records { print(line(file: file, metadata: contents.metadata, record: record)) }
        }

        func report(_ error: any Error) {
            FileHandle.standardError.write(Data("ferry capture cat: \(error)\n".utf8))
        }

        func line(file: String, metadata: DataCaptureMetadata, record: SensorData) -> String {
            CaptureFile.document(file: file, metadata: metadata, record: record, withBytes: binary).extendedJSON(.relaxed)
        }
    }
}
