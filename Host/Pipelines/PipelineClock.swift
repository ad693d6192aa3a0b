import Foundation

/// Time for the scheduler, injectable so tests drive it step by step and never wait on the wall clock.
public protocol PipelineClock: Sendable {
    /// Now, in milliseconds since the Unix epoch, UTC.
    func now() -> Int64
    /// Sleeps up to `milliseconds`; returns early when the calling task is cancelled.
    func sleep(milliseconds: Int64) async
}

/// The wall clock.
public struct SystemPipelineClock: PipelineClock {
    public init() {}

    public func now() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }

    public func sleep(milliseconds: Int64) async {
        try? await Task.sleep(for: .milliseconds(max(0, milliseconds)))
    }
}
