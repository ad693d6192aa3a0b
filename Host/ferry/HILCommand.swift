import ArgumentParser
import FerryBSON
import FerryHIL
import FerryIsolation
import FerryLoader
import FerryRun
import Foundation
import Logging

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

    @Flag(help: "Run the plugin in a process of its own (ferry plugin-host), as an isolated module runs under ferry run.")
    var isolate = false

    func run() throws {
        LogSetup.bootstrap(defaultLevel: .warning)
        let attributes = try loadAttributes()
        let report = isolate ? try isolatedReport(attributes) : ConformanceSuite(iterations: iterations).run(pluginPath: plugin, model: model, api: api, attributes: attributes)
        print(json ? report.document.extendedJSON(.relaxed) : report.text)
        if !report.passed { throw ExitCode(1) }
    }

    /// The suite over the channel: the plugin in `ferry plugin-host`, this same binary.
    private func isolatedReport(_ attributes: BSONDocument) throws -> ConformanceReport {
        let library = URL(fileURLWithPath: plugin).standardizedFileURL.path
        let executable = PluginDiscovery.ownExecutable()
        let module = IsolatedModule(
            launch: PluginProcess.Launch(executable: executable, library: library), label: "plugin \(library)",
            logger: Logger(label: "ferry.hil"))
        defer { module.shutDown() }
        do throws(PluginCallError) {
            try module.start()
        } catch {
            throw Failure("ferry hil: \(error.message)")
        }
        let loaded = module.pluginName.map { "plugin \($0.name) \($0.version), in a process of its own" } ?? "in a process of its own"
        return ConformanceSuite(iterations: iterations).run(
            subject: library, loaded: loaded, models: module.models, model: model, api: api, attributes: attributes)
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

extension IsolatedModel: ConformanceModel {
    package func makeInstance(config: BSONDocument) throws(PluginCallError) -> any ConformanceInstance {
        try module.createIsolated(api: api, model: model, config: config)
    }
}

extension IsolatedInstance: ConformanceInstance {}
