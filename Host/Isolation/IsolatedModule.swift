import FerryBSON
import FerryClock
import FerryLoader
import FerrySystem
import Foundation
import Logging
import Synchronization

/// How long to wait before restarting a plugin process after consecutive failures: `initial`,
/// doubling, at most `maximum`. A process that ran `stableAfter` before failing starts the count over.
package struct RestartBackoff: Sendable {
    package var initial: Duration = .milliseconds(500)
    package var maximum: Duration = .seconds(60)
    package var stableAfter: Duration = .seconds(60)
    package init() {}

    package func delay(afterFailures failures: Int) -> Duration {
        let exponent = min(max(failures - 1, 0), 30)
        return min(initial * (1 << exponent), maximum)
    }
}

/// A plugin library served by a child process (`ferry plugin-host LIB.so`). Calls go over the
/// channel one at a time, each with a deadline. When the process crashes, exits, sends garbage or
/// misses a deadline it is killed and reaped, the cause is logged with its last output, and it
/// is restarted after a backoff, re-creating the live instances with their configs. Until then
/// calls fail as retry-later, so only this module's collectors count failed ticks.
package final class IsolatedModule: @unchecked Sendable {
    // @unchecked: every mutable field is read and written with `lock` held (`current` and
    // `shuttingDown`, for a shutdown that must not wait for it, are a Mutex and an Atomic); the lock is also what
    // serialises calls on the channel (a plugin process serves one request at a time). It is
    // recursive because a capture_resource the plugin makes during a call may come back to a
    // resource of this same module, on the same thread, nested on the same channel.
    package struct Options: Sendable {
        package var clock: any FerryClock = SystemClock()
        /// Each call's deadline (capture, reconfigure, do_command, close).
        package var callTimeout: Duration = .seconds(5)
        /// The deadline for the hello after a start, and for create.
        package var createTimeout: Duration = .seconds(30)
        package var backoff = RestartBackoff()
        /// Whose request_sync and capture_resource handlers answer the plugin's calls to them
        /// (nil: they answer unsupported).
        package var host: PluginRegistry?
        /// What the status says of the module's CPU limit (applied, or why not); nil when none is asked for.
        package var cpuLimit: String?
        package init() {}
    }

    /// What `status` reports about the process.
    package struct Status: Sendable, Equatable {
        package var library: String
        package var running: Bool
        package var pid: Int32?
        package var restarts: Int
        package var lastFailure: String?
        package var cpuLimit: String? = nil
    }

    package let launch: PluginProcess.Launch
    package let label: String
    let options: Options
    let logger: Logger
    private let lock = Lock(recursive: true)

    private struct Live {
        var api: String
        var model: String
        var config: BSONDocument
        /// The instance's id in the running process; nil until (re-)created there.
        var remote: Int64?
    }

    private var process: PluginProcess? {
        didSet { current.withLock { $0 = process } }
    }
    /// `process`, for `shutDown` to kill without waiting for the call lock.
    private let current = Mutex<PluginProcess?>(nil)
    /// Set by `shutDown` before it takes the lock: the call it interrupts fails quietly.
    private let shuttingDown = Atomic(false)
    /// Raised at each start, so the exit of an older process is not taken for the current one's.
    private var generation = 0
    private var nextRequest: Int64 = 1
    private var nextLocal = 1
    private var live: [Int: Live] = [:]
    private var failures = 0
    private var startedAt: Duration = .zero
    private var restartAt: Duration?
    private var restarts = 0
    private var lastFailure: String?
    private var stopped = false
    private var plugin: (name: String, version: String)?
    private var registered: [IsolatedModelInfo] = []
    private var registeredOperators: [String] = []

    package init(launch: PluginProcess.Launch, label: String, options: Options = Options(), logger: Logger) {
        self.launch = launch
        self.label = label
        snapshot = Mutex(Status(library: launch.library, running: false, pid: nil, restarts: 0, lastFailure: nil, cpuLimit: options.cpuLimit))
        self.options = options
        self.logger = logger
    }

    /// Starts the process and reads what the plugin registered. Throws (with the process gone)
    /// when it does not start, its library does not load, or it says nothing in time.
    package func start() throws(PluginCallError) {
        lock.lock()
        defer { lock.unlock() }
        try startLocked()
    }

    /// The plugin's name and version, and its models, from its hello.
    package var pluginName: (name: String, version: String)? { lock.withLock { plugin } }

    /// The MQL operators the plugin registered, "name (kind)".
    package var operators: [String] { lock.withLock { registeredOperators } }

    /// The MQL operators the plugin registered, each served from the plugin process.
    package var isolatedOperators: [IsolatedOperator] {
        operators.compactMap { description in
            // "name (kind)", as the child's hello lists them; anything else is not an operator to serve.
            guard let open = description.lastIndex(of: "("), description.hasSuffix(")") else { return nil }
            let name = description[..<open].trimmedWhitespace
            guard let kind = RegisteredOperator.Kind(rawValue: String(description[description.index(after: open)..<description.index(before: description.endIndex)])),
                !name.isEmpty
            else { return nil }
            return IsolatedOperator(module: self, name: name, kind: kind)
        }
    }

    package var models: [IsolatedModel] {
        lock.withLock { registered.map { IsolatedModel(module: self, info: $0) } }
    }

    /// Read without the call lock, so a status page never waits behind a hung call.
    package var status: Status { snapshot.withLock { $0 } }
    private let snapshot: Mutex<Status>

    /// Copies the state `status` shows; called with the lock held after each change.
    private func publish() {
        let status = Status(
            library: launch.library, running: process != nil, pid: process?.pid, restarts: restarts, lastFailure: lastFailure, cpuLimit: options.cpuLimit)
        snapshot.withLock { $0 = status }
    }

    /// Kills the process and fails every later call. Idempotent.
    package func shutDown() {
        // A call in flight holds the lock until its deadline (a hung create: up to create_timeout_ms).
        // The child is killed first, so that call fails at once and the machine stops promptly.
        shuttingDown.store(true, ordering: .sequentiallyConsistent)
        current.withLock { $0 }?.sendKill()
        lock.lock()
        defer { lock.unlock() }
        stopped = true
        live.removeAll()
        process?.kill()
        process = nil
        publish()
        if let group = launch.cgroup { CgroupCPU.remove(group: group) }
    }

    /// Restarts a failed process once its backoff has passed; nothing otherwise. For a periodic
    /// check, so a module with no calls coming still comes back.
    package func restartIfDue() {
        // A call in flight holds the lock (and will restart the process itself if it must): no
        // periodic check waits behind it, so none pile up behind a hung call.
        guard lock.try() else { return }
        defer { lock.unlock() }
        try? ensureRunning()
    }

    // MARK: - Calls (each takes the lock)

    package func createIsolated(api: String, model: String, config: BSONDocument) throws(PluginCallError) -> IsolatedInstance {
        lock.lock()
        defer { lock.unlock() }
        try ensureRunning()
        let reply = try exchange(.create(api: api, model: model, config: config), timeout: options.createTimeout, what: "create \(model)")
        guard case .created(let remote) = reply else { throw unexpected(reply, "create") }
        let local = nextLocal
        nextLocal += 1
        live[local] = Live(api: api, model: model, config: config, remote: remote)
        return IsolatedInstance(module: self, local: local)
    }

    func capture(_ local: Int, method: String, parameters: BSONDocument) throws(PluginCallError) -> CapturedValue {
        let reply = try call(local, what: method) { .capture(instance: $0, method: method, parameters: parameters) }
        guard case .captured(let value) = reply else { throw unexpected(reply, method) }
        return value
    }

    func reconfigure(_ local: Int, config: BSONDocument) throws(PluginCallError) -> Bool {
        let reply = try call(local, what: "reconfigure") { .reconfigure(instance: $0, config: config) }
        guard case .reconfigured(let applied) = reply else { throw unexpected(reply, "reconfigure") }
        // A restart re-creates the instance with the config it has now.
        if applied { lock.withLock { live[local]?.config = config } }
        return applied
    }

    func doCommand(_ local: Int, command: BSONDocument) throws(PluginCallError) -> BSONDocument {
        let reply = try call(local, what: "DoCommand") { .doCommand(instance: $0, command: command) }
        guard case .commandResult(let result) = reply else { throw unexpected(reply, "DoCommand") }
        return result
    }

    /// One MQL operator call. `generation`, for a call on an accumulator state, is that of the
    /// process the state lives in: after a restart the state is gone, and the call fails (so the
    /// query does) instead of reaching a process that never made it. Returns the result and the
    /// generation of the process that answered.
    func operatorCall(
        _ name: String, _ call: String, _ arguments: BSONDocument, stateIn generation: Int? = nil
    ) throws(PluginCallError) -> (result: BSONDocument, generation: Int) {
        lock.lock()
        defer { lock.unlock() }
        if let generation, generation != self.generation || process == nil {
            throw PluginCallError(
                status: .fatal, message: "\(label): the plugin process restarted while \(name) was accumulating; its partial state is lost")
        }
        try ensureRunning()
        let answering = self.generation
        let reply = try exchange(.operatorCall(name: name, call: call, arguments: arguments), timeout: options.callTimeout, what: "\(name) \(call)")
        guard case .operatorResult(let result) = reply else { throw unexpected(reply, "\(name) \(call)") }
        return (result, answering)
    }

    func close(_ local: Int) {
        lock.lock()
        defer { lock.unlock() }
        guard let instance = live.removeValue(forKey: local), let remote = instance.remote, process != nil else { return }
        _ = try? exchange(.close(instance: remote), timeout: options.callTimeout, what: "close")
    }

    /// One call on a live instance, re-creating it first if a restart left it without one.
    private func call(_ local: Int, what: String, _ message: (Int64) -> ChannelMessage) throws(PluginCallError) -> ChannelMessage {
        lock.lock()
        defer { lock.unlock() }
        guard live[local] != nil else { throw PluginCallError(status: .fatal, message: "instance is closed") }
        try ensureRunning()  // a restart re-creates the live instances: read this one after it
        guard var instance = live[local] else { throw PluginCallError(status: .fatal, message: "instance is closed") }
        if instance.remote == nil {
            let reply = try exchange(
                .create(api: instance.api, model: instance.model, config: instance.config), timeout: options.createTimeout,
                what: "create \(instance.model)")
            guard case .created(let remote) = reply else { throw unexpected(reply, "create") }
            instance.remote = remote
            live[local] = instance
        }
        return try exchange(message(instance.remote!), timeout: options.callTimeout, what: what)
    }

    // MARK: - With the lock held

    private func startLocked() throws(PluginCallError) {
        guard !stopped else { throw PluginCallError(status: .fatal, message: "\(label) is shut down") }
        generation += 1
        let started = generation
        let process: PluginProcess
        do throws(ChannelError) {
            process = try PluginProcess(launch: launch, logger: logger, label: label) { [weak self] status in
                self?.processExited(generation: started, status: status)
            }
        } catch {
            throw PluginCallError(status: .fatal, message: error.description)
        }
        self.process = process
        startedAt = options.clock.uptime()
        defer { publish() }
        let hello: ChannelFrame
        do throws(FrameChannel.Failure) {
            hello = try process.channel.receive(deadline: options.clock.uptime() + options.createTimeout, clock: options.clock)
        } catch {
            if shuttingDown.load(ordering: .sequentiallyConsistent) { throw PluginCallError(status: .fatal, message: "\(label) is shut down") }
            let cause = failureCause(error, process: process, waiting: "its hello")
            process.kill()
            self.process = nil
            throw PluginCallError(status: .fatal, message: "\(label): the plugin process \(cause)\(Self.tail(process.lastLines))")
        }
        switch hello.message {
        case .hello(let name, let version, let models, let operators):
            if plugin == nil {
                plugin = (name, version)
                registered = models
                registeredOperators = operators
            } else if models != registered {
                logger.warning("\(label): the restarted plugin registered other models than at first; the first ones stay in use")
            }
        case .error(let error):
            process.kill()
            self.process = nil
            throw error
        default:
            process.kill()
            self.process = nil
            throw PluginCallError(status: .fatal, message: "\(label): the plugin process began with \(hello.message.kind), not hello")
        }
    }

    /// Up, or started again if its backoff has passed; else retry-later with the reason.
    private func ensureRunning() throws(PluginCallError) {
        if process != nil { return }
        if stopped { throw PluginCallError(status: .fatal, message: "\(label) is shut down") }
        let now = options.clock.uptime()
        if let restartAt, now < restartAt {
            throw PluginCallError(
                status: .retryLater,
                message: "\(label) is restarting after it \(lastFailure ?? "failed")")
        }
        restarts += 1
        do throws(PluginCallError) {
            try startLocked()
        } catch {
            noteFailure("did not start again: \(error.message)")
            throw PluginCallError(status: .retryLater, message: "\(label) did not start again: \(error.message)")
        }
        logger.notice("\(label): plugin process restarted (pid \(process?.pid ?? 0), restart \(restarts)); re-creating \(live.count) instance(s)")
        for (local, instance) in live.sorted(by: { $0.key < $1.key }) {
            live[local]?.remote = nil
            guard process != nil else { break }
            do {
                let reply = try exchange(
                    .create(api: instance.api, model: instance.model, config: instance.config), timeout: options.createTimeout,
                    what: "create \(instance.model)")
                if case .created(let remote) = reply { live[local]?.remote = remote }
            } catch {
                if shuttingDown.load(ordering: .sequentiallyConsistent) { break }
                logger.error("\(label): re-creating \(instance.model) after the restart failed: \(error); tried again at its next call")
            }
        }
        if process == nil { throw PluginCallError(status: .retryLater, message: "\(label) failed again while re-creating its instances") }
    }

    /// Sends one request and waits for its reply. A plugin's own error comes back as thrown; a
    /// broken channel, a dead process or a missed deadline takes the process down (restarted
    /// later) and throws retry-later.
    private func exchange(_ message: ChannelMessage, timeout: Duration, what: String) throws(PluginCallError) -> ChannelMessage {
        guard let process else { throw PluginCallError(status: .retryLater, message: "\(label) is not running") }
        let id = nextRequest
        nextRequest += 1
        let deadline = options.clock.uptime() + timeout
        var answered: ChannelFrame?
        var lostDuringCaptureResource = false
        do throws(FrameChannel.Failure) {
            try process.channel.send(ChannelFrame(id: id, message: message))
            receiving: while true {
                let frame = try process.channel.receive(deadline: deadline, clock: options.clock)
                switch frame.message {
                case .requestSync:
                    if let sync = options.host?.syncRequestHandler { DispatchQueue.global().async { sync() } }
                case .captureResource(let name, let method, let parameters):
                    let answer = captureResource(name: name, method: method, parameters: parameters)
                    // A nested call to this module may have taken the process down meanwhile.
                    guard self.process === process else {
                        lostDuringCaptureResource = true
                        break receiving
                    }
                    try process.channel.send(ChannelFrame(id: frame.id, message: answer))
                default:
                    answered = frame
                    break receiving
                }
            }
        } catch {
            // Killed by shutDown, which cleans up once it has the lock; not a failure to restart after.
            if shuttingDown.load(ordering: .sequentiallyConsistent) { throw PluginCallError(status: .fatal, message: "\(label) is shut down") }
            let cause = failureCause(error, process: process, waiting: "\(what) (deadline \(Self.format(timeout)))")
            takeDown(process, cause: cause)
            throw PluginCallError(status: .retryLater, message: "\(label): the plugin process \(cause); restarting it")
        }
        guard let reply = answered, !lostDuringCaptureResource else {
            throw PluginCallError(status: .retryLater, message: "\(label): the plugin process failed during capture_resource; restarting it")
        }
        guard reply.id == id else {
            takeDown(process, cause: "answered request \(reply.id) while \(id) (\(what)) was waiting")
            throw PluginCallError(status: .retryLater, message: "\(label): the plugin process sent a reply out of turn; restarting it")
        }
        if case .error(let error) = reply.message { throw error }
        return reply.message
    }

    /// The plugin's capture_resource, answered by the machine (which may call back into this module).
    private func captureResource(name: String, method: String, parameters: BSONDocument) -> ChannelMessage {
        guard let capture = options.host?.resourceCapture else {
            return .error(PluginCallError(status: .unsupported, message: "this host runs no machine, so there is no resource to capture"))
        }
        do throws(PluginCallError) {
            return .captured(try capture(name, method, parameters))
        } catch {
            return .error(error)
        }
    }

    private func failureCause(_ error: FrameChannel.Failure, process: PluginProcess, waiting: String) -> String {
        switch error {
        case .closed:
            // The channel closes as the process dies; wait for the reaper's status to say how.
            process.kill()
            return process.exitStatus.map { PluginProcess.describe(status: $0) } ?? "closed its channel"
        case .timedOut:
            return "did not answer \(waiting) in time and was killed"
        case .broken(let message):
            return "sent bytes that are not a frame (\(message)) and was killed"
        }
    }

    /// Kills and reaps `process`, logs why with its last output, and schedules the restart.
    private func takeDown(_ process: PluginProcess, cause: String) {
        process.kill()
        guard self.process === process else { return }
        self.process = nil
        publish()
        for key in live.keys { live[key]?.remote = nil }
        let delay = noteFailure(cause)
        logger.error("\(label): the plugin process (pid \(process.pid)) \(cause)\(Self.tail(process.lastLines)); restarting it in \(Self.format(delay))")
    }

    @discardableResult
    private func noteFailure(_ cause: String) -> Duration {
        let now = options.clock.uptime()
        if now - startedAt >= options.backoff.stableAfter { failures = 0 }
        failures += 1
        lastFailure = cause
        let delay = options.backoff.delay(afterFailures: failures)
        restartAt = now + delay
        publish()
        return delay
    }

    /// The reaper saw the process exit: when no call is in flight to notice, notice it now.
    private func processExited(generation exited: Int, status: Int32) {
        lock.lock()
        defer { lock.unlock() }
        guard exited == generation, let process, !stopped, !shuttingDown.load(ordering: .sequentiallyConsistent) else { return }
        takeDown(process, cause: PluginProcess.describe(status: status))
    }

    private func unexpected(_ reply: ChannelMessage, _ what: String) -> PluginCallError {
        PluginCallError(status: .fatal, message: "\(label): the plugin process answered \(what) with \(reply.kind)")
    }

    static func tail(_ lines: [String]) -> String {
        let last = lines.suffix(5)
        return last.isEmpty ? "" : "; its last output: \(last.joined(separator: " | "))"
    }

    static func format(_ duration: Duration) -> String {
        let milliseconds = duration.inMilliseconds
        return milliseconds < 1000 ? "\(milliseconds) ms" : "\(oneDecimal(Double(milliseconds) / 1000)) s"
    }
}

/// A model a plugin process registered.
package struct IsolatedModel: ComponentModel {
    package let module: IsolatedModule
    package let info: IsolatedModelInfo
    package var api: String { info.api }
    package var model: String { info.model }
    package var captureMethods: [String] { info.captureMethods }
    /// Create is a call to the plugin process, which may hang until its create deadline.
    package var createMayBlock: Bool { true }

    package func createInstance(config: BSONDocument) throws(PluginCallError) -> any ComponentInstance {
        try module.createIsolated(api: info.api, model: info.model, config: config)
    }
}

/// An instance living in a plugin process; it outlives restarts of that process.
package final class IsolatedInstance: ComponentInstance {
    let module: IsolatedModule
    let local: Int

    init(module: IsolatedModule, local: Int) {
        self.module = module
        self.local = local
    }

    deinit { module.close(local) }

    package func capture(method: String, parameters: BSONDocument) throws(PluginCallError) -> CapturedValue {
        try module.capture(local, method: method, parameters: parameters)
    }

    package func reconfigure(config: BSONDocument) throws(PluginCallError) -> Bool {
        try module.reconfigure(local, config: config)
    }

    package func doCommand(_ command: BSONDocument) throws(PluginCallError) -> BSONDocument {
        try module.doCommand(local, command: command)
    }

    package func close() { module.close(local) }
}
