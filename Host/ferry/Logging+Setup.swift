import ArgumentParser
import Foundation
import Logging
import OTel

enum LogSetup {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    /// Logs go to stderr (stdout is for command output), at FERRY_LOG_LEVEL (default `defaultLevel`),
    /// as `format` says, else FERRY_LOG_FORMAT, else text.
    static func bootstrap(defaultLevel: Logger.Level = .info, format: Format? = nil) {
        let environment = ProcessInfo.processInfo.environment
        let level = environment["FERRY_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? defaultLevel
        // With traces on, each line carries the trace and span it was logged in.
        let provider = TraceSetup.requested(environment) ? OTel.makeLoggingMetadataProvider() : nil
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
struct LogOptions: ParsableArguments {
    @Option(name: .customLong("log-format"), help: "Log lines as text or as JSON objects (else $FERRY_LOG_FORMAT, else text).")
    var logFormat: LogSetup.Format?
}

/// Exits with a message on stderr and a non-zero status, without ArgumentParser's usage text.
struct Failure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
