/// Everything wrong with a machine config, each fault with its JSON path and what was expected.
package struct ConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    package struct Fault: Sendable, Equatable, CustomStringConvertible {
        /// e.g. `components[2].service_configs[0].attributes.capture_methods[1].capture_frequency_hz`
        package var path: String
        package var message: String
        package init(path: String, message: String) {
            self.path = path
            self.message = message
        }
        package var description: String { path.isEmpty ? message : "\(path): \(message)" }
    }

    /// The config file, when there is one.
    package var file: String?
    package var faults: [Fault]

    package init(file: String? = nil, faults: [Fault]) {
        self.file = file
        self.faults = faults
    }

    package init(file: String? = nil, path: String, _ message: String) {
        self.init(file: file, faults: [Fault(path: path, message: message)])
    }

    package var description: String {
        let prefix = file.map { "\($0): " } ?? ""
        if faults.count == 1 { return "\(prefix)\(faults[0])" }
        return "\(prefix)\(faults.count) problems:\n" + faults.map { "  - \($0)" }.joined(separator: "\n")
    }
}
