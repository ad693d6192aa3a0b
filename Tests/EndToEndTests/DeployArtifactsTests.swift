import FerryTestSupport
import Foundation
import Testing

/// What ships beside the binary: the release bundle, the Debian package, its systemd units and the
/// Prometheus alert rules, each checked with the tool that consumes it.
@Suite(.ownThreads) struct DeployArtifactsTests {
    static let deploy = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Deploy").path

    /// Runs a program to completion; a missing tool fails with how to install it.
    static func run(_ arguments: [String], in directory: String? = nil) throws -> (status: Int32, output: String) {
        let result = try FerryProcess.run(arguments, directory: directory, executable: "/usr/bin/env")
        let output = result.stdout + result.stderr
        if result.status == 127, output.contains("No such file") {
            throw Missing(description: "\(arguments[0]) is not installed: run .ci/install-packages test")
        }
        return (result.status, output)
    }

    struct Missing: Error, CustomStringConvertible { let description: String }

    @Test func theAlertRulesLoadAndPassTheirUnitTests() throws {
        let check = try Self.run(["promtool", "check", "rules", "ferry-alerts.yml"], in: "\(Self.deploy)/prometheus")
        #expect(check.status == 0 && check.output.contains("SUCCESS: 6 rules found"), "\(check.output)")
        let test = try Self.run(["promtool", "test", "rules", "ferry-alerts.test.yml"], in: "\(Self.deploy)/prometheus")
        #expect(test.status == 0 && test.output.contains("SUCCESS"), "\(test.output)")
    }

    @Test func theSystemdUnitsVerifyWithoutAWord() throws {
        let dir = try TemporaryDirectory("ferry-units")
        defer { dir.remove() }
        // verify insists the ExecStart binary exists: point it at the one just built.
        for unit in ["ferry.service", "ferry-serve.service"] {
            let text = try String(contentsOfFile: "\(Self.deploy)/systemd/\(unit)", encoding: .utf8)
            #expect(text.contains("KillSignal=SIGTERM") && text.contains("NoNewPrivileges=yes") && text.contains("Restart=on-failure"))
            try text.replacingOccurrences(of: "/usr/bin/ferry", with: BuiltProducts.ferry)
                .write(toFile: dir.file(unit), atomically: true, encoding: .utf8)
        }
        let verify = try Self.run(["systemd-analyze", "verify", dir.file("ferry.service"), dir.file("ferry-serve.service")])
        #expect(verify.status == 0 && verify.output.isEmpty, "systemd-analyze verify:\n\(verify.output)")
    }

    @Test func theBundleRunsWithoutTheToolchainAndPackagesAsADeb() throws {
        let dir = try TemporaryDirectory("ferry-release")
        defer { dir.remove() }
        let built = try Self.run(["bash", "\(Self.deploy)/release.sh", "--products", BuiltProducts.directory.path, "--out", dir.path])
        #expect(built.status == 0, "release.sh:\n\(built.output)")
        let bundle = built.output.split(separator: "\n").last.map(String.init) ?? ""
        let version = try FerryProcess.run(["--version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(bundle.hasSuffix("/ferry-\(version)-linux-x86_64.tar.gz"), "\(bundle)")
        #expect(try Self.run(["sha256sum", "-c", URL(fileURLWithPath: bundle).lastPathComponent + ".sha256"], in: dir.path).status == 0)
        #expect(try Self.run(["tar", "-xzf", bundle, "-C", dir.path]).status == 0)
        let root = dir.file("ferry-\(version)-linux-x86_64")

        // In a mount namespace where the toolchain's directory is empty, the bundle's ferry runs the
        // fake sensor and captures: every library it needs is inside the bundle.
        let toolchain = URL(fileURLWithPath: try Self.run(["sh", "-c", "readlink -f \"$(command -v swift)\""]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        try """
            {"components": [{"name": "temp", "api": "rdk:component:sensor", "model": "fake",
              "service_configs": [{"type": "data_manager", "attributes": {"capture_methods": [{"method": "Readings", "capture_frequency_hz": 50}]}}]}],
             "services": [{"name": "dm", "api": "rdk:service:data_manager", "attributes": {"capture_dir": "\(dir.file("capture"))", "sync_disabled": true, "maximum_capture_file_size_bytes": 2048}}]}
            """.write(toFile: dir.file("machine.json"), atomically: true, encoding: .utf8)
        let script = """
            set -e
            mount -t tmpfs tmpfs '\(toolchain)'
            ! '\(BuiltProducts.ferry)' --version 2>/dev/null || { echo 'the toolchain is still visible'; exit 9; }
            '\(root)/bin/ferry' --version
            '\(root)/bin/ferry' run '\(dir.file("machine.json"))' > '\(dir.file("run.log"))' 2>&1 &
            host=$!
            until ls '\(dir.file("capture"))'/*/*.capture >/dev/null 2>&1 || ls '\(dir.file("capture"))'/*.capture >/dev/null 2>&1 \
                || find '\(dir.file("capture"))' -name '*.capture' 2>/dev/null | grep -q .; do
                kill -0 $host || { cat '\(dir.file("run.log"))'; exit 8; }
                sleep 0.2
            done
            kill -TERM $host
            wait $host
            '\(root)/bin/ferry' capture cat '\(dir.file("capture"))' | head -n 1
            """
        let isolated = try Self.run(["unshare", "--map-root-user", "--mount", "sh", "-c", script])
        #expect(isolated.status == 0, "without the toolchain:\n\(isolated.output)")
        let lines = isolated.output.split(separator: "\n")
        #expect(lines.first.map(String.init) == version, "\(isolated.output)")
        #expect(lines.last?.contains(#""component_name":"temp""#) == true, "\(isolated.output)")

        let deb = try Self.run(["bash", "\(Self.deploy)/debian/build-deb.sh", "--fast", bundle, dir.path])
        #expect(deb.status == 0, "build-deb.sh:\n\(deb.output)")
        let package = deb.output.split(separator: "\n").last.map(String.init) ?? ""
        #expect(try Self.run(["dpkg-deb", "-f", package, "Version"]).output.trimmingCharacters(in: .whitespacesAndNewlines) == version)
        let contents = try Self.run(["dpkg-deb", "--contents", package]).output
        for path in [
            "./opt/ferry/lib/ferry/ferry", "./opt/ferry/lib/ferry/ferry-host", "./opt/ferry/lib/ferry/libFerryFake.so", "./opt/ferry/lib/ferry/libswiftCore.so",
            "./usr/bin/ferry -> /opt/ferry/lib/ferry/ferry", "./lib/systemd/system/ferry.service", "./lib/systemd/system/ferry-serve.service",
            "./etc/ferry/machine.json", "./etc/default/ferry-serve",
        ] {
            #expect(contents.contains(path), "\(path) missing from the package:\n\(contents)")
        }
        #expect(try Self.run(["dpkg-deb", "-f", package, "Depends"]).output.contains("libsqlite3-0"))
    }
}
