import FerryBSON
import FerryTestSupport
import Foundation
import Synchronization
import Testing

@testable import FerryLoader

/// ABI 1.2 through the real fake plugin: a service model (vision) that asks the host for another
/// resource's capture (capture_resource) and returns an annotated image (add_annotated_binary).
@Suite struct ServiceModelTests {
    let registry = PluginRegistry()
    let copy: TemporaryDirectory

    /// A private copy of the plugin: a Swift plugin keeps the host table of the registry that
    /// initialised it last, and other suites load the same library into their own registries at the
    /// same time. Another file is another image, with its own table, so this registry's
    /// capture_resource is the one the plugin calls.
    init() throws {
        copy = try TemporaryDirectory("ferry-service-model")
        let path = copy.file("libFerryFake.so")
        try FileManager.default.copyItem(atPath: BuiltProducts.library("FerryFake"), toPath: path)
        try registry.load(path: path)
    }

    func create(_ name: String, _ api: String) throws -> PluginInstance {
        let model = try #require(registry.model(api: api, model: "rdk:builtin:fake"))
        return try model.create(config: ["name": .string(name), "api": .string(api), "model": "rdk:builtin:fake", "attributes": [:], "depends_on": []])
    }

    @Test func aVisionServiceLooksThroughACameraTheHostHandsIt() throws {
        #expect(registry.plugins.first?.models.contains { $0.api == "rdk:service:vision" } == true, "a service model registers like any other")
        let camera = try create("camera-1", "rdk:component:camera")
        let vision = try create("vision-1", "rdk:service:vision")
        defer {
            camera.close()
            vision.close()
            copy.remove()
        }
        let parameters: BSONDocument = ["camera_name": "camera-1", "mime_type": "image/jpeg", "min_confidence_score": "0.7"]

        // A host with no machine has no resource to hand over.
        let noMachine = #expect(throws: PluginCallError.self) { _ = try vision.capture(method: "CaptureAllFromCamera", parameters: parameters) }
        #expect(noMachine?.status == .unsupported && noMachine?.message.contains("no machine") == true, "\(String(describing: noMachine))")

        let asked = Mutex<[String]>([])
        registry.resourceCapture = { (name: String, method: String, parameters: BSONDocument) throws(PluginCallError) -> CapturedValue in
            asked.withLock { $0.append("\(name).\(method) \(parameters.extendedJSON(.relaxed))") }
            guard name == "camera-1" else { throw PluginCallError(status: .retryLater, message: "no resource named \"\(name)\"") }
            return try camera.capture(method: method, parameters: parameters)
        }
        defer { registry.resourceCapture = nil }
        guard case .binary(let payloads) = try vision.capture(method: "CaptureAllFromCamera", parameters: parameters) else {
            Issue.record("CaptureAllFromCamera returns the image as binary data")
            return
        }
        #expect(asked.withLock { $0 } == [#"camera-1.ReadImage {"mime_type":"image/jpeg"}"#])
        let image = try #require(payloads.first)
        #expect(payloads.count == 1 && image.mimeType == "image/jpeg" && image.bytes.starts(with: [0xFF, 0xD8]))
        let annotations = try #require(image.annotations, "the detections come back with the image")
        let boxes = annotations["bboxes"]?.arrayValue?.compactMap(\.documentValue) ?? []
        let classifications = annotations["classifications"]?.arrayValue?.compactMap(\.documentValue) ?? []
        #expect(boxes.contains { $0["label"] == "color-bars" } && classifications.contains { $0["label"] == "test-scene" })
        for item in boxes + classifications { #expect((item["confidence"]?.doubleValue ?? 0) >= 0.7, "\(item)") }

        // The camera's own errors reach the vision service's caller.
        let missing = #expect(throws: PluginCallError.self) {
            _ = try vision.capture(method: "CaptureAllFromCamera", parameters: ["camera_name": "camera-9"])
        }
        #expect(missing?.status == .retryLater && missing?.message.contains("camera-9") == true, "\(String(describing: missing))")
    }
}
