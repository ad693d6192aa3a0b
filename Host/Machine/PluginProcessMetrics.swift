import FerryIsolation
import Metrics

/// Each plugin process as Prometheus metrics, labelled by library: whether it runs now, and its
/// restarts (totals turned into increments at each poll, as CollectorMetrics does).
struct PluginProcessMetrics {
    private var restarts: [String: Int] = [:]

    mutating func publish(_ statuses: [IsolatedModule.Status]) {
        for status in statuses {
            let dimensions = [("library", status.library)]
            Gauge(label: "ferry_plugin_process_up", dimensions: dimensions).record(status.running ? 1 : 0)
            let delta = status.restarts - (restarts[status.library] ?? 0)
            if delta > 0 { Counter(label: "ferry_plugin_process_restarts_total", dimensions: dimensions).increment(by: delta) }
            restarts[status.library] = status.restarts
        }
    }
}
