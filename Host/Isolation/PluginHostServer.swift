import FerryBSON
import FerryLoader
import FerrySystem
import Foundation

/// The child side of an isolated plugin (`ferry plugin-host LIB.so`): limits its own memory,
/// loads the library through the same loader as the host, says hello with what it registered,
/// then serves one request at a time on fd 3 until the host closes the channel.
package enum PluginHostServer {
    package static let channelDescriptor: Int32 = 3
    /// Where the host puts the shared ring's memfd (`--shared-ring`), then this process's
    /// doorbell and the host's.
    package static let sharedRingDescriptor: Int32 = 4
    package static let bellDescriptor: Int32 = 5
    package static let hostBellDescriptor: Int32 = 6

    /// Runs until the channel closes; returns the process's exit status.
    /// `cgroup`: the group (with its CPU quota) to join before the plugin is loaded.
    /// `sharedRing`: the host put a shared ring on ``sharedRingDescriptor`` (and its doorbells on the
    /// next two); calls come through it too.
    package static func run(library: String, memoryLimitMB: Int?, cgroup: String? = nil, sharedRing: Bool = false) -> Int32 {
        var ring: SharedRing?
        if sharedRing {
            do throws(ChannelError) {
                ring = try SharedRing(descriptor: sharedRingDescriptor, bell: bellDescriptor, peerBell: hostBellDescriptor)
                close(sharedRingDescriptor)
            } catch {
                // The host writes its calls into the ring: without it, this process could not serve them.
                let message = "cannot use the shared ring the host gave this plugin process: \(error.description)"
                try? FrameChannel(descriptor: channelDescriptor).send(ChannelFrame(id: 0, message: .error(PluginCallError(status: .fatal, message: message))))
                return 1
            }
        }
        let channel = FrameChannel(descriptor: channelDescriptor, ring: ring)
        // The host decides when this process ends (it closes the channel, or kills it): a Ctrl-C
        // at the terminal or a service manager's SIGTERM to the whole group must not end it while
        // the host stops gracefully and still calls it.
        for number in [SIGINT, SIGTERM, SIGHUP] { signal(number, SIG_IGN) }
        watchParent()
        if let megabytes = memoryLimitMB {
            let bytes = rlim_t(megabytes) * 1024 * 1024
            var limit = rlimit(rlim_cur: bytes, rlim_max: bytes)
            if setrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit) != 0 {
                writeToStandardError("cannot set a memory limit of \(megabytes) MB: \(String(cString: strerror(errno)))\n")
            }
        }
        if let cgroup, let problem = CgroupCPU.write(String(getpid()), to: cgroup + "/cgroup.procs") {
            // The host made the group for this process: not joining it would run the plugin unlimited unseen.
            let message = "cannot join the cgroup \(cgroup) that limits its CPU: \(problem)"
            try? channel.send(ChannelFrame(id: 0, message: .error(PluginCallError(status: .fatal, message: message))))
            return 1
        }
        let registry = PluginRegistry()
        let info: PluginInfo
        do throws(LoadError) {
            info = try registry.load(path: library)
        } catch {
            try? channel.send(ChannelFrame(id: 0, message: .error(PluginCallError(status: .fatal, message: error.description))))
            return 1
        }
        let models = registry.models.sorted { ($0.api, $0.model) < ($1.api, $1.model) }.map {
            IsolatedModelInfo(api: $0.api, model: $0.model, captureMethods: $0.captureMethods)
        }
        do {
            try channel.send(ChannelFrame(id: 0, message: .hello(
                        plugin: info.name, version: info.version, models: models,
                        operators: info.operators.map { "\($0.name) (\($0.kind.rawValue))" }.sorted())))
        } catch {
            return 1
        }
        let server = Server(registry: registry, channel: channel)
        registry.syncRequestHandler = { try? channel.send(ChannelFrame(id: 0, message: .requestSync)) }
        registry.resourceCapture = { (name: String, method: String, parameters: BSONDocument) throws(PluginCallError) -> CapturedValue in
            try server.captureResource(name: name, method: method, parameters: parameters)
        }
        while true {
            do throws(FrameChannel.Failure) {
                try server.serveNext()
            } catch {
                if error == .closed { return 0 }
                writeToStandardError("plugin-host: the channel broke: \(error)\n")
                return 2
            }
        }
    }

    /// Dies with the host: a host killed outright cannot kill its children, and a child stuck in
    /// a plugin call would never see its channel close.
    private static func watchParent() {
        let parent = getppid()
        OSThread.detach {
            while getppid() == parent { sleep(1) }
            _exit(0)
        }
    }

    /// The instances this process created, by the ids the host knows them by, and the serving
    /// loop. One thread serves; a capture_resource from inside a call serves the host's nested
    /// calls on that same thread until its own answer comes.
    final class Server: @unchecked Sendable {
        // @unchecked: `instances`, `next`, `accumulators`, `nextState` and `nextOutgoing` are touched
        // only by the serving thread (capture_resource is answered on the thread of the call that made it).
        let registry: PluginRegistry
        let channel: FrameChannel
        let operators: [String: RegisteredOperator]
        var instances: [Int64: PluginInstance] = [:]
        var next: Int64 = 1
        /// Accumulator states of MQL operators, by the ids the host knows them by.
        var accumulators: [Int64: PluginAccumulator] = [:]
        var nextState: Int64 = 1
        /// Ids of this side's own requests count down, so they never meet the host's.
        var nextOutgoing: Int64 = -1

        init(registry: PluginRegistry, channel: FrameChannel) {
            self.registry = registry
            self.channel = channel
            operators = Dictionary(registry.operators.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        }

        /// Reads one request and answers it.
        func serveNext() throws(FrameChannel.Failure) {
            let request = try channel.receive()
            try channel.send(ChannelFrame(id: request.id, message: handle(request.message)))
        }

        /// Asks the host for another resource's capture and waits, serving the host meanwhile.
        func captureResource(name: String, method: String, parameters: BSONDocument) throws(PluginCallError) -> CapturedValue {
            let id = nextOutgoing
            nextOutgoing -= 1
            let reply: ChannelMessage
            do throws(FrameChannel.Failure) {
                reply = try ask(ChannelFrame(id: id, message: .captureResource(name: name, method: method, parameters: parameters)))
            } catch {
                throw PluginCallError(status: .fatal, message: "capture_resource: the channel to the host broke: \(error)")
            }
            switch reply {
            case .captured(let value): return value
            case .error(let error): throw error
            default: throw PluginCallError(status: .fatal, message: "the host answered capture_resource with \(reply.kind)")
            }
        }

        /// Sends a request and returns its answer, answering the host's own requests meanwhile.
        private func ask(_ request: ChannelFrame) throws(FrameChannel.Failure) -> ChannelMessage {
            try channel.send(request)
            while true {
                let frame = try channel.receive()
                if frame.id == request.id { return frame.message }
                try channel.send(ChannelFrame(id: frame.id, message: handle(frame.message)))
            }
        }

        func handle(_ message: ChannelMessage) -> ChannelMessage {
            do throws(PluginCallError) {
                switch message {
                case .create(let api, let model, let config):
                    guard let registered = registry.model(api: api, model: model) else {
                        throw PluginCallError(status: .invalidArgument, message: "this plugin has no \(api) model \(model)")
                    }
                    let instance = try registered.create(config: config)
                    let id = next
                    next += 1
                    instances[id] = instance
                    return .created(instance: id)
                case .capture(let id, let method, let parameters):
                    return .captured(try instance(id).capture(method: method, parameters: parameters))
                case .reconfigure(let id, let config):
                    return .reconfigured(applied: try instance(id).reconfigure(config: config))
                case .doCommand(let id, let command):
                    return .commandResult(try instance(id).doCommand(command))
                case .close(let id):
                    instances.removeValue(forKey: id)?.close()
                    return .closed
                case .operatorCall(let name, let call, let arguments):
                    return .operatorResult(try callOperator(name, call, arguments))
                default:
                    throw PluginCallError(status: .invalidArgument, message: "plugin-host does not serve \(message.kind) requests")
                }
            } catch {
                return .error(error)
            }
        }

        /// One MQL operator call, through the same C ABI bridge as in the host.
        func callOperator(_ name: String, _ call: String, _ arguments: BSONDocument) throws(PluginCallError) -> BSONDocument {
            guard let op = operators[name] else { throw PluginCallError(status: .invalidArgument, message: "this plugin has no MQL operator \(name)") }
            func state(_ key: String = "state") throws(PluginCallError) -> PluginAccumulator {
                guard let id = arguments[key]?.int64Value, let state = accumulators[id] else {
                    throw PluginCallError(status: .invalidArgument, message: "\(name) \(call): no accumulator state \(arguments[key].map { "\($0)" } ?? "given")")
                }
                return state
            }
            switch call {
            case "validate":
                try op.validate(arguments["spec"] ?? .null)
                return [:]
            case "evaluate":
                return ["value": try op.evaluate(arguments["args"] ?? .null)]
            case "stage":
                guard let docs = arguments["docs"]?.arrayValue else {
                    throw PluginCallError(status: .invalidArgument, message: "\(name) stage: docs is missing or not an array")
                }
                let documents = docs.compactMap(\.documentValue)
                guard documents.count == docs.count else { throw PluginCallError(status: .invalidArgument, message: "\(name) stage: docs holds a non-document") }
                return ["docs": .array(try op.runStage(spec: arguments["spec"] ?? .null, documents: documents).map(BSON.document))]
            case "accumulator_init":
                let accumulator = try op.makeAccumulator(spec: arguments["spec"] ?? .null)
                let id = nextState
                nextState += 1
                accumulators[id] = accumulator
                return ["state": .int64(id)]
            case "accumulator_add":
                try state().add(arguments["value"] ?? .null)
                return [:]
            case "accumulator_merge":
                try state().merge(try state("other"))
                return [:]
            case "accumulator_finalize":
                return ["value": try state().finalize()]
            case "accumulator_free":
                if let id = arguments["state"]?.int64Value { accumulators.removeValue(forKey: id) }
                return [:]
            default:
                throw PluginCallError(status: .invalidArgument, message: "\(name): unknown operator call \"\(call.prefix(40))\"")
            }
        }

        func instance(_ id: Int64) throws(PluginCallError) -> PluginInstance {
            guard let instance = instances[id] else { throw PluginCallError(status: .invalidArgument, message: "no instance \(id)") }
            return instance
        }
    }
}
