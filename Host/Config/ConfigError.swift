/// Everything wrong with a machine config, each fault with its JSON path and what was expected.
public struct ConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    public struct Fault: Sendable, Equatable, CustomStringConvertible {
        /// e.g. `components[2].service_configs[0].attributes.capture_methods[1].capture_frequency_hz`
        public var path: String
        public var message: String
        public init(path: String, message: String) {
            self.path = path
            self.message = message
        }
        public var description: String { path.isEmpty ? message : "\(path): \(message)" }
    }

    /// The config file, when there is one.
    public var file: String?
    public var faults: [Fault]

    public init(file: String? = nil, faults: [Fault]) {
        self.file = file
        self.faults = faults
    }

    public init(file: String? = nil, path: String, _ message: String) {
        self.init(file: file, faults: [Fault(path: path, message: message)])
    }

    public var description: String {
        let prefix = file.map { "\($0): " } ?? ""
        if faults.count == 1 { return "\(prefix)\(faults[0])" }
        return "\(prefix)\(faults.count) problems:\n" + faults.map { "  - \($0)" }.joined(separator: "\n")
    }
}
