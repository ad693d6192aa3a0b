import ArgumentParser
import FerryBSON
import FerryHIL
import Foundation

/// `ferry hil`: the component API's conformance suite against a plugin's model and a real device.
struct HILCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hil",
        abstract: "Run a component API's conformance suite against a plugin model and its device (hardware in the loop).",
        discussion: """
            Loads PLUGIN (a .so), creates MODEL with the attributes in --config, and checks that every advertised \
            capture method answers in its API's shape (cameras: a decodable image of the advertised size), that \
            repeated captures keep that shape, that errors are clean statuses, and that reconfigure and close work. \
            Prints one line per check and exits non-zero if any failed.

            Example: ferry hil libFerryWebcam.so --model webcam --config cam.json, with cam.json \
            {"video_path": "/dev/video0", "width_px": 640, "height_px": 480, "format": "MJPG"}
            """)

    @Argument(help: "The plugin's shared library (.so).")
    var plugin: String

    @Option(help: "The model: a triplet (acme:sensors:tmp102) or a built-in name (webcam = rdk:builtin:webcam).")
    var model: String

    @Option(
        help: ArgumentHelp(
            "A JSON file with the component's attributes (or a whole component entry with an \"attributes\" key).",
            valueName: "ATTRS.json"))
    var config: String?

    @Option(help: "The API (camera or rdk:component:camera), when the model is registered for several.")
    var api: String?

    @Option(help: "Captures per method after the first, to check they stay consistent.")
    var iterations = 3

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        LogSetup.bootstrap(defaultLevel: .warning)
        let attributes = try loadAttributes()
        let report = ConformanceSuite(iterations: iterations).run(pluginPath: plugin, model: model, api: api, attributes: attributes)
        print(json ? report.document.extendedJSON(.relaxed) : report.text)
        if !report.passed { throw ExitCode(1) }
    }

    private func loadAttributes() throws -> BSONDocument {
        guard let config else { return [:] }
        let text: String
        do {
            text = try String(contentsOfFile: config, encoding: .utf8)
        } catch {
            throw Failure("ferry hil: cannot read --config \(config): \(error.localizedDescription)")
        }
        let document: BSONDocument
        do {
            document = try BSONDocument(extendedJSON: text)
        } catch {
            throw Failure("ferry hil: --config \(config) is not a JSON object: \(error)")
        }
        // A component entry copied from a machine config works too.
        if document["model"] != nil, let attributes = document["attributes"]?.documentValue { return attributes }
        return document
    }
}
