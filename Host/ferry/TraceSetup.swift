import FerryRun
import Foundation
import Logging
import OTel
import ServiceLifecycle
import Tracing

/// OpenTelemetry traces through swift-otel, off unless the standard `OTEL_*` variables ask for
/// them: an OTLP endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT` or `…_TRACES_ENDPOINT`), or
/// `OTEL_TRACES_EXPORTER` naming an exporter. Spans go out over OTLP/gRPC (the build carries no
/// HTTP exporter); `OTEL_SERVICE_NAME`, `OTEL_BSP_*` and the sampler variables apply as usual.
enum TraceSetup {
    static func requested(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        if environment["OTEL_SDK_DISABLED"] == "true" { return false }
        if let exporter = environment["OTEL_TRACES_EXPORTER"] { return exporter != "none" }
        return environment["OTEL_EXPORTER_OTLP_ENDPOINT"] != nil || environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] != nil
    }

    /// With traces on, what puts the trace and span on each log line.
    static func loggingMetadataProvider() -> Logger.MetadataProvider? {
        requested() ? OTel.makeLoggingMetadataProvider() : nil
    }

    /// Bootstraps the tracer when traces are asked for, and returns the service exporting its
    /// spans: first in the service group, so it stops last and flushes what the others recorded.
    static func start(serviceName: String, logger: Logger) throws -> (any Service)? {
        guard requested() else { return nil }
        var configuration = OTel.Configuration.default
        configuration.serviceName = serviceName
        configuration.diagnosticLogger = .custom(Logger(label: "ferry.otel"))
        configuration.traces.otlpExporter.protocol = .grpc
        configuration.metrics.enabled = false  // Prometheus on --metrics-listen
        configuration.logs.enabled = false  // stderr, text or JSON, with trace ids
        let backend: (factory: any Tracer, service: any Service)
        do {
            backend = try OTel.makeTracingBackend(configuration: configuration)
        } catch {
            throw Failure("cannot set up OpenTelemetry traces from the OTEL_* variables: \(error)")
        }
        InstrumentationSystem.bootstrap(backend.factory)
        logger.info("exporting traces over OTLP/gRPC as \(ProcessInfo.processInfo.environment["OTEL_SERVICE_NAME"] ?? serviceName)")
        return backend.service
    }
}
