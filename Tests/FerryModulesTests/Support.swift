import FerryTestSupport
import Foundation

/// Archives built by Python's `tarfile`, an independent writer, including the entries Ferry
/// must refuse (a publisher's tool can write anything).
enum PythonTar {
    struct Entry: Encodable {
        var name: String
        var type = "file"
        var data = ""
        var link = ""
        var mode = 0o644
    }

    static let script = """
        import io, json, sys, tarfile
        spec = json.loads(sys.argv[2])
        with tarfile.open(sys.argv[1], "w:gz", format=tarfile.PAX_FORMAT) as tar:
            for e in spec:
                info = tarfile.TarInfo(e["name"])
                info.mode = e["mode"]
                kinds = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
                         "hardlink": tarfile.LNKTYPE, "chr": tarfile.CHRTYPE, "fifo": tarfile.FIFOTYPE}
                info.type = kinds[e["type"]]
                info.linkname = e["link"]
                data = e["data"].encode()
                if info.type == tarfile.REGTYPE:
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
                else:
                    tar.addfile(info)
        """

    static func write(_ entries: [Entry], to path: String) throws {
        let spec = String(decoding: try JSONEncoder().encode(entries), as: UTF8.self)
        let run = try FerryProcess.run(["python3", "-c", script, path, spec], executable: "/usr/bin/env")
        guard run.status == 0 else { throw Failure(description: "python3 tarfile failed: \(run.stderr)") }
    }
}

struct Failure: Error, CustomStringConvertible {
    var description: String
}

/// Runs a program to completion; throws with its stderr if it fails.
@discardableResult
func shell(_ arguments: [String], directory: String? = nil) throws -> String {
    let result = try FerryProcess.run(arguments, directory: directory, executable: "/usr/bin/env")
    guard result.status == 0 else {
        throw Failure(description: "\(arguments.joined(separator: " ")) failed: \(result.stderr)")
    }
    return result.stdout
}
