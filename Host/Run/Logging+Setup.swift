import ArgumentParser
import Foundation
import Logging

package enum LogSetup {
    package enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    /// Logs go to stderr (stdout is for command output), at FERRY_LOG_LEVEL (default `defaultLevel`),
    /// as `format` says, else FERRY_LOG_FORMAT, else text.
    /// `provider` adds metadata to every line (with traces on, the trace and span it was logged in).
    package static func bootstrap(defaultLevel: Logger.Level = .info, format: Format? = nil, provider: Logger.MetadataProvider? = nil) {
        let environment = ProcessInfo.processInfo.environment
        let level = environment["FERRY_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? defaultLevel
        switch format ?? environment["FERRY_LOG_FORMAT"].flatMap(Format.init(rawValue:)) ?? .text {
        case .text:
            LoggingSystem.bootstrap({ label, provider in
                var handler = StreamLogHandler.standardError(label: label, metadataProvider: provider)
                handler.logLevel = level
                return handler
            }, metadataProvider: provider)
        case .json:
            LoggingSystem.bootstrap({ label, provider in
                JSONLogHandler(label: label, logLevel: level, metadataProvider: provider)
            }, metadataProvider: provider)
        }
    }
}

/// `--log-format text|json` for the long-running commands.
package struct LogOptions: ParsableArguments {
    @Option(name: .customLong("log-format"), help: "Log lines as text or as JSON objects (else $FERRY_LOG_FORMAT, else text).")
    package var logFormat: LogSetup.Format?

    package init() {}
}

/// Exits with a message on stderr and a non-zero status, without ArgumentParser's usage text.
package struct Failure: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}
