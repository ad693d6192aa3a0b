/// The time window `[start, end)` (ms since the Unix epoch, UTC) a pipeline run summarised.
public struct SinkWindow: Sendable, Hashable {
    public var start: Int64
    public var end: Int64

    public init(start: Int64, end: Int64) {
        self.start = start
        self.end = end
    }

    /// The collection name Viam gives a pipeline's results.
    public static func collectionName(pipelineID: String) -> String { "sink-\(pipelineID)" }
}
