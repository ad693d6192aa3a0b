import FerryCaptureFile
import FerryConfig
import FerryTestSupport
import Foundation
import Logging
import Testing

@testable import FerrySync

/// Each capture upload carries its method's retention policy as configured (`{}` for a configured
/// method without one); a method no longer configured carries none, leaving the server's as it is.
@Suite struct RetentionUploadTests {
    @Test func uploadsCarryTheirMethodsPolicy() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var settings = SyncSettings(captureDir: dir.path)
        settings.retentionPolicies = [
            CapturedMethod(component: "temp", method: "Readings"): RetentionPolicyConfig(days: 3),
            CapturedMethod(component: "cam", method: "GetImages"): RetentionPolicyConfig(binaryLimitGB: 1.5),
            CapturedMethod(component: "humid", method: "Readings"): RetentionPolicyConfig(),
        ]
        let uploader = FakeUploader()
        let sync = CaptureFileSync(uploader: uploader, settings: settings, logger: Logger(label: "test"))
        let files = [
            try Captures.write(dir.path, name: "a", records: Captures.tabularRecords(3)),
            try Captures.write(dir.path, name: "b", metadata: Captures.binaryMetadata(), records: Captures.binaryRecords([[1], [2]])),
            try Captures.write(dir.path, name: "c", metadata: Captures.tabularMetadata(component: "humid"), records: Captures.tabularRecords(1)),
            try Captures.write(dir.path, name: "d", metadata: Captures.tabularMetadata(component: "gone"), records: Captures.tabularRecords(1)),
        ]
        for file in files { try await sync.sync(file) }
        let sent = uploader.succeeded.map { "\($0.metadata.componentName) \($0.key.retentionPolicy ?? "none")" }
        #expect(sent == [#"temp {"days":3}"#, #"cam {"binary_limit_gb":1.5}"#, #"cam {"binary_limit_gb":1.5}"#, "humid {}", "gone none"])
    }
}
