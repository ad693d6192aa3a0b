import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A PostgreSQL server for tests, and a fresh database on it for each test that asks.
///
/// The server is `FERRY_TEST_DATABASE_URL` when set (its user must be allowed to create databases
/// and roles), else a private throwaway cluster this process starts on first use: `initdb` (as the
/// `postgres` user when running as root), listening only on a Unix socket in its own directory (no
/// TCP port to collide with), stopped and deleted when the process exits. Without PostgreSQL's
/// server programs the tests fail, saying what to install; they never skip.
public enum TestPostgres {
    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
    }

    /// The URL of a new, empty database (or a copy of `template`) for one test.
    public static func freshDatabase(template: String? = nil) throws -> String {
        let server = try shared.get()
        let name = "ferry_t_\(getpid())_\(counter.next())"
        var statement = "CREATE DATABASE \(name)"
        if let template { statement += " TEMPLATE \(template)" }
        // A template still being disconnected from refuses to be copied for a moment.
        var attempt = 0
        while true {
            let result = try server.psql(statement)
            if result.status == 0 { break }
            attempt += 1
            guard attempt < 50, result.stderr.contains("is being accessed by other users") else {
                throw Unavailable(description: "cannot create a test database on \(server.adminURL): \(result.stderr)")
            }
            usleep(100_000)
        }
        return server.url(database: name)
    }

    /// The same, off Swift's cooperative pool: the first call starts the cluster and every call runs
    /// psql, which would otherwise hold one of its few threads while waiting.
    public static func freshDatabase(template: String? = nil) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try freshDatabase(template: template) }) }
        }
    }

    /// Creates an empty database under a fixed name (for a template), replacing an earlier one.
    public static func namedDatabase(_ name: String) throws -> String {
        let server = try shared.get()
        _ = try server.psql("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        let result = try server.psql("CREATE DATABASE \(name)")
        guard result.status == 0 else { throw Unavailable(description: "cannot create \(name): \(result.stderr)") }
        return server.url(database: name)
    }

    public static func namedDatabase(_ name: String) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try namedDatabase(name) }) }
        }
    }

    /// Runs SQL on the server's maintenance database (`psql -c`); returns psql's output.
    @discardableResult
    public static func psql(_ sql: String, database: String? = nil) throws -> String {
        let server = try shared.get()
        let result = try server.psql(sql, url: database.map(server.url(database:)))
        guard result.status == 0 else { throw Unavailable(description: "psql failed: \(result.stderr)\nSQL: \(sql)") }
        return result.stdout
    }

    /// The database name of a URL this type handed out.
    public static func databaseName(of url: String) -> String {
        let path = url.split(separator: "?", maxSplits: 1)[0]
        return String(path[path.index(after: path.lastIndex(of: "/")!)...])
    }

    private static let counter = Counter()
    private static let shared: Result<Server, Unavailable> = Result { () throws(Unavailable) -> Server in try Server.make() }

    final class Counter: @unchecked Sendable {
        // @unchecked: `value` is only touched under `lock`.
        private let lock = NSLock()
        private var value = 0
        func next() -> Int {
            lock.lock()
            defer { lock.unlock() }
            value += 1
            return value
        }
    }

    struct Server: Sendable {
        /// The maintenance database (`postgres`) of the server.
        let adminURL: String
        let psqlPath: String

        func url(database: String) -> String { TestPostgres.replacingDatabase(in: adminURL, with: database) }

        func psql(_ sql: String, url: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
            let result = try Spawn.run(psqlPath, [url ?? adminURL, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
            return (result.status, result.output, result.status == 0 ? "" : result.output)
        }

        static func make() throws(Unavailable) -> Server {
            do {
                let bin = try serverPrograms()
                if let given = ProcessInfo.processInfo.environment["FERRY_TEST_DATABASE_URL"], !given.isEmpty {
                    let server = Server(adminURL: replacingDatabase(in: given, with: "postgres"), psqlPath: bin.psql)
                    server.dropLeftovers()
                    return server
                }
                return try startCluster(bin)
            } catch let error as Unavailable {
                throw error
            } catch {
                throw Unavailable(description: "cannot start PostgreSQL for the tests: \(error)")
            }
        }

        /// Databases (`ferry_t_PID_N`, `ferry_template_PID`) and their SQL reader roles
        /// (`ferry_sql_DATABASE_HASH`) left by earlier test processes that have exited.
        func dropLeftovers() {
            let query = "SELECT datname FROM pg_database WHERE datname LIKE 'ferry\\_t\\_%' OR datname LIKE 'ferry\\_template\\_%'"
            guard let names = try? psql(query).stdout else { return }
            for name in names.split(separator: "\n").map(String.init) {
                let parts = name.split(separator: "_")
                guard parts.count >= 3, let pid = Int32(parts[2]), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
                _ = try? psql("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
                let roles = (try? psql("SELECT rolname FROM pg_roles WHERE starts_with(rolname, 'ferry_sql_\(name)_')").stdout) ?? ""
                for role in roles.split(separator: "\n") { _ = try? psql("DROP ROLE IF EXISTS \(role)") }
            }
        }
    }

    struct Programs {
        var bin: String
        var psql: String
    }

    /// initdb, pg_ctl and psql, from Debian's versioned directory or the PATH.
    static func serverPrograms() throws -> Programs {
        let fm = FileManager.default
        var candidates: [String] = []
        if let versions = try? fm.contentsOfDirectory(atPath: "/usr/lib/postgresql") {
            candidates += versions.compactMap(Int.init).sorted(by: >).map { "/usr/lib/postgresql/\($0)/bin" }
        }
        candidates += (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        guard let bin = candidates.first(where: { fm.isExecutableFile(atPath: "\($0)/initdb") && fm.isExecutableFile(atPath: "\($0)/pg_ctl") })
        else {
            throw Unavailable(
                description: """
                    PostgreSQL's server programs (initdb, pg_ctl) are not installed, and the PostgreSQL tests need them. \
                    Install them (Debian/Ubuntu: sudo apt-get install postgresql, or run .ci/install-packages test), \
                    or set FERRY_TEST_DATABASE_URL to a server where the tests may create databases and roles.
                    """)
        }
        let psql = ["\(bin)/psql", "/usr/bin/psql"].first { fm.isExecutableFile(atPath: $0) } ?? "psql"
        return Programs(bin: bin, psql: psql)
    }

    /// A private cluster under the temp directory: Unix socket only, stopped at exit.
    static func startCluster(_ programs: Programs) throws -> Server {
        let fm = FileManager.default
        reapStaleClusters()
        // Under /tmp: every user can traverse it, and the socket path stays short (a Unix socket
        // path has at most 107 bytes).
        let base = "/tmp/ferry-pg-\(getpid())-\(UUID().uuidString.prefix(6))"
        let data = base + "/data"
        let socket = base + "/sock"
        try fm.createDirectory(atPath: socket, withIntermediateDirectories: true)
        // PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` user.
        let asPostgres = geteuid() == 0
        if asPostgres {
            for path in [base, socket] { try fm.setAttributes([.ownerAccountName: "postgres"], ofItemAtPath: path) }
        }
        func run(_ program: String, _ arguments: [String]) throws {
            let path = "\(programs.bin)/\(program)"
            let result = try asPostgres ? Spawn.run("/usr/sbin/runuser", ["-u", "postgres", "--", path] + arguments) : Spawn.run(path, arguments)
            guard result.status == 0 else {
                throw Unavailable(description: "\(program) failed (status \(result.status)): \(result.output)")
            }
        }
        try run("initdb", ["-D", data, "-U", "ferry", "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C.UTF-8"])
        let options = "-c listen_addresses='' -k \(socket) -c max_connections=500 -c fsync=on -c synchronous_commit=off"
        try run("pg_ctl", ["-D", data, "-o", options, "-l", base + "/server.log", "-w", "-t", "60", "start"])
        ClusterAtExit.register(pgCtl: "\(programs.bin)/pg_ctl", data: data, base: base, asPostgres: asPostgres)
        return Server(adminURL: "postgresql://ferry@/postgres?host=\(socket)&sslmode=disable", psqlPath: programs.psql)
    }

    /// Clusters of earlier test processes that died without stopping theirs.
    static func reapStaleClusters() {
        let fm = FileManager.default
        let tmp = "/tmp"
        for entry in (try? fm.contentsOfDirectory(atPath: tmp)) ?? [] where entry.hasPrefix("ferry-pg-") {
            let parts = entry.split(separator: "-")
            guard parts.count >= 4, let pid = Int32(parts[2]), kill(pid, 0) != 0, errno == ESRCH else { continue }
            let base = "\(tmp)/\(entry)"
            if let pidText = try? String(contentsOfFile: base + "/data/postmaster.pid", encoding: .utf8),
                let postmaster = Int32(pidText.split(separator: "\n").first ?? "")
            {
                kill(postmaster, SIGQUIT)
            }
            try? fm.removeItem(atPath: base)
        }
    }

    static func replacingDatabase(in url: String, with database: String) -> String {
        let parts = url.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var head = String(parts[0])
        let query = parts.count > 1 ? "?" + parts[1] : ""
        let schemeEnd = head.range(of: "://")!.upperBound
        if let slash = head[schemeEnd...].firstIndex(of: "/") { head = String(head[..<slash]) }
        return head + "/" + database + query
    }
}

/// Stops the throwaway cluster when the test process exits.
enum ClusterAtExit {
    nonisolated(unsafe) static var cluster: (pgCtl: String, data: String, base: String, asPostgres: Bool)?
    // nonisolated(unsafe): written once, when the cluster starts (inside the lazy `shared`
    // initialiser, which runs once), and read only by the exit handler.

    static func register(pgCtl: String, data: String, base: String, asPostgres: Bool) {
        cluster = (pgCtl, data, base, asPostgres)
        atexit {
            guard let cluster = ClusterAtExit.cluster else { return }
            let command = cluster.asPostgres ? ["-u", "postgres", "--", cluster.pgCtl] : []
            _ = try? Spawn.run(
                cluster.asPostgres ? "/usr/sbin/runuser" : cluster.pgCtl, command + ["-D", cluster.data, "-m", "immediate", "-w", "stop"])
            try? FileManager.default.removeItem(atPath: cluster.base)
        }
    }
}

/// Runs a program to its end, its output (stdout and stderr) in a temporary file: a `ChildProcess`
/// (no descriptor of this process leaks into it, and its exit is learnt from the kernel; a daemon
/// pg_ctl starts holds no pipe of ours). Bounded: past `timeout` it is killed and the run fails
/// saying so, instead of a psql waiting on a server for ever hanging the test run.
enum Spawn {
    static func run(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(300)) throws -> (status: Int32, output: String) {
        let outputPath = "/tmp/ferry-spawn-\(getpid())-\(UUID().uuidString.prefix(8)).out"
        defer { unlink(outputPath) }
        let output = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw TestPostgres.Unavailable(description: "cannot create \(outputPath): \(String(cString: strerror(errno)))") }
        defer { close(output) }
        let started = ContinuousClock.now
        // psql gives up on a server that does not answer instead of waiting for ever.
        let process = try ChildProcess(
            executable: executable, arguments: arguments, environment: ChildProcess.environment(["PGCONNECT_TIMEOUT": "30"]),
            standardInput: FileHandle.nullDevice.fileDescriptor, standardOutput: output, standardError: output)
        let status = process.wait(timeout: timeout)
        var text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        if ContinuousClock.now - started >= timeout {
            text += "\n(\(executable) did not finish within \(timeout) and was killed)"
            return (124, text)
        }
        return (status, text)
    }
}
