import FerryCaptureFile
import FerryTestSupport
import Foundation
import Synchronization
import Testing
import ViamProtos

@testable import FerrySync

/// Replicas behind `FailoverUploader`, each answering as scripted, on an injected clock.
@Suite struct FailoverUploaderTests {
    /// One replica: fails with `failure` while it is set; counts the calls that reached it.
    final class Replica: DataUploader {
        let failure = Mutex<UploadFailure?>(nil)
        let calls = Mutex(0)

        func answer() throws(UploadFailure) {
            calls.withLock { $0 += 1 }
            if let failure = failure.withLock({ $0 }) { throw failure }
        }
        func uploadTabular(_ metadata: UploadMetadata, records: [Data], key: UploadKey) async throws(UploadFailure) { try answer() }
        func uploadBinary(_ metadata: UploadMetadata, record: SensorData, key: UploadKey, streamingThreshold: Int) async throws(UploadFailure) {
            try answer()
        }
        func uploadFile(_ metadata: UploadMetadata, path: String, key: UploadKey) async throws(UploadFailure) { try answer() }
    }

    let replicas = [Replica(), Replica(), Replica()]
    let clock = ManualClock()
    var uploader: FailoverUploader {
        FailoverUploader(servers: replicas, names: ["a:1", "b:2", "c:3"], failBackAfter: 30) { [clock] in clock.now() }
    }

    func upload(_ uploader: FailoverUploader) async throws(UploadFailure) {
        try await uploader.uploadTabular(UploadMetadata(), records: [], key: UploadKey(fileID: "f", first: 0, end: 1))
    }
    func calls() -> [Int] { replicas.map { $0.calls.withLock { $0 } } }

    @Test func theFirstThatAnswersIsUsedFromThenOn() async throws {
        let uploader = self.uploader
        try await upload(uploader)
        #expect(uploader.currentServer == "a:1" && calls() == [1, 0, 0])
        replicas[0].failure.withLock { $0 = .unreachable("connection refused") }
        replicas[1].failure.withLock { $0 = .unreachable("connection refused") }
        try await upload(uploader)  // a and b down: c, within the same call
        #expect(uploader.currentServer == "c:3" && calls() == [2, 1, 1])
        replicas[1].failure.withLock { $0 = nil }
        try await upload(uploader)  // c answers, so it stays in use (a is not yet due another try)
        #expect(uploader.currentServer == "c:3" && calls() == [2, 1, 2])
    }

    @Test func thePreferredServerIsTriedAgainAfterTheFailBackDelay() async throws {
        let uploader = self.uploader
        replicas[0].failure.withLock { $0 = .unreachable("down") }
        try await upload(uploader)
        #expect(uploader.currentServer == "b:2")
        clock.advance(by: .seconds(29))
        try await upload(uploader)
        #expect(calls() == [1, 2, 0], "a is not tried again before 30 s")
        clock.advance(by: .seconds(1))
        try await upload(uploader)
        #expect(calls() == [2, 3, 0] && uploader.currentServer == "b:2", "a tried at 30 s, still down: b again")
        replicas[0].failure.withLock { $0 = nil }
        clock.advance(by: .seconds(10))
        try await upload(uploader)
        #expect(calls() == [2, 4, 0], "the last failed try restarted the delay")
        clock.advance(by: .seconds(20))
        try await upload(uploader)
        #expect(calls() == [3, 4, 0] && uploader.currentServer == "a:1", "back to a once it answers")
    }

    @Test func whenNoneAnswersEveryReasonIsReported() async {
        for (replica, reason) in zip(replicas, ["refused", "timed out", "reset"]) { replica.failure.withLock { $0 = .unreachable(reason) } }
        await #expect(throws: UploadFailure.unreachable("refused; timed out; reset")) { try await upload(uploader) }
    }

    /// The replicas share one database: a refusal from one would come from any of them.
    @Test func refusalsAreNotFailedOver() async {
        for failure in [UploadFailure.rejected("bad file"), .unauthorized("revoked key"), .retry("store busy")] {
            replicas[0].failure.withLock { $0 = failure }
            await #expect(throws: failure) { try await upload(uploader) }
        }
        #expect(calls() == [3, 0, 0])
    }
}
