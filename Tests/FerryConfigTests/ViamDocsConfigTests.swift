import FerryBSON
import Foundation
import Testing

@testable import FerryConfig

/// The example configs of Viam's data capture docs (Tests/Fixtures/viam-configs, see its README)
/// load as written: nothing refused, each key Ferry does not act on warned about once.
@Suite struct ViamDocsConfigTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/viam-configs")

    static func load(_ name: String) throws -> MachineConfig {
        try ConfigParser.load(file: fixtures.appendingPathComponent(name).path)
    }

    static let defaultCaptureDir = ConfigParser.homeDirectory + "/.ferry/capture"

    @Test func captureToMongoDBIsWarnedAboutAndCaptureRunsAsUsual() throws {
        let config = try Self.load("dm-mongo-capture.json")
        #expect(config.components.map(\.name) == ["sensor-1"])
        #expect(config.components[0].api == "rdk:component:sensor")
        #expect(config.components[0].captureMethods.map(\.frequencyHz) == [0.5])
        #expect(config.warnings.map(\.key) == ["mongo_capture_config"])
        #expect(config.warnings[0].paths == ["services[0].attributes.mongo_capture_config"])
        #expect(config.warnings[0].description.contains("has no effect in Ferry"))
    }

    @Test func theDataManagerExamplesTakeTheDefaultCaptureDirectory() throws {
        let disabled = try Self.load("dm-sync-disabled.json")
        #expect(disabled.dataManager.captureDir == Self.defaultCaptureDir, "\"capture_dir\": \"\" means the default")
        #expect(disabled.dataManager.syncDisabled)
        #expect(disabled.dataManager.maximumNumSyncThreads == 250)
        #expect(disabled.dataManager.syncInterval == .seconds(60))
        #expect(disabled.warnings.map(\.key) == ["delete_data_on_part_deletion"])
        let paths = try Self.load("dm-additional-sync-paths.json")
        #expect(paths.dataManager.captureDir == Self.defaultCaptureDir)
        #expect(paths.dataManager.syncInterval == .seconds(180))
        #expect(paths.warnings.isEmpty)
    }

    @Test func cacheSizeIsOneWarningForEveryPlaceItAppears() throws {
        let config = try Self.load("sensors-temperature-wifi.json")
        #expect(config.components.map(\.name) == ["tmp36", "my-wifi-sensor"])
        #expect(config.components.map(\.captureMethods.count) == [1, 1])
        #expect(config.warnings.count == 1)
        let warning = try #require(config.warnings.first)
        #expect(warning.key == "cache_size_kb")
        #expect(
            warning.paths == [
                "components[0].service_configs[0].attributes.capture_methods[0].cache_size_kb",
                "components[1].service_configs[0].attributes.capture_methods[0].cache_size_kb",
            ])
    }

    @Test func theVisionExampleCapturesAServiceAndNamesItsMLModel() throws {
        let config = try Self.load("vision-capture-all-from-camera.json")
        #expect(config.components.map(\.name) == ["camera-1"])
        #expect(config.services.map(\.name) == ["vision-1", "mlmodel-1"])
        #expect(config.services.map(\.api) == ["rdk:service:vision", "rdk:service:mlmodel"])
        let capture = try #require(config.services.first?.captureMethods.first)
        #expect(capture.method == "CaptureAllFromCamera")
        #expect(capture.additionalParams == ["mime_type": "image/jpeg", "camera_name": "camera-1", "min_confidence_score": "0.7"])
        #expect(config.dataManager.serviceName == "data_manager-1")
        #expect(config.modules.map(\.kind) == [.registry])
        #expect(config.warnings.isEmpty)
    }

    @Test func theRemoteExamplesNameTheirResources() throws {
        let esp = try Self.load("remote-esp32-analogs-and-gpio.json")
        #expect(esp.remotes.map(\.name) == ["esp-home"])
        #expect(esp.remotes[0].captureMethods.map { "\($0.api)/\($0.resource) \($0.method)" } == [
            "rdk:component:board/my-esp32 Analogs", "rdk:component:board/my-esp32 Analogs", "rdk:component:board/my-esp32 Gpios",
        ])
        #expect(esp.dataManager.tags == ["tag1", "tag2"], "the data manager's name and type are written twice; both load")
        #expect(Set(esp.warnings.map(\.key)) == ["secret", "cache_size_kb"])
        let camera = try Self.load("remote-camera-read-image.json")
        #expect(camera.remotes.first?.captureMethods.map(\.method) == ["ReadImage"])
    }

    @Test func theESP32BoardCapturesBothAnalogReaders() throws {
        let config = try Self.load("board-esp32.json")
        let board = try #require(config.components.first)
        #expect(board.api == "rdk:component:board")
        #expect(board.captureMethods.map(\.additionalParams) == [["reader_name": "A1"], ["reader_name": "A2"]])
        #expect(config.warnings.map(\.key) == ["cache_size_kb"])
        #expect(config.dataManager.captureDir == Self.defaultCaptureDir, "no data manager: the default directory")
    }
}
