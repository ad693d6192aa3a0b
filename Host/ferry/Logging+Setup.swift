import Foundation
import Logging

enum LogSetup {
    /// Logs go to stderr (stdout is for command output), at FERRY_LOG_LEVEL (default `defaultLevel`).
    static func bootstrap(defaultLevel: Logger.Level = .info) {
        let level = ProcessInfo.processInfo.environment["FERRY_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? defaultLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

/// Exits with a message on stderr and a non-zero status, without ArgumentParser's usage text.
struct Failure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
