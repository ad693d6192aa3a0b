import FerryBSON
import FerryLoader

/// The conformance suite `ferry hil` runs against one model: the same checks on a real device, on
/// a scripted one (umockdev) and on an in-process fake. Generic checks (create, every advertised
/// capture method answers in its API's shape, repeated captures keep that shape, an unknown method
/// is refused with a clean status, reconfigure, close and re-create) plus per-API shape and image
/// checks (``Expectations``). Every check records why it failed; nothing here stops at the first.
package struct ConformanceSuite: Sendable {
    /// Captures per method after the first, to prove the answers are stable.
    package var iterations: Int
    /// A first capture answering retry-later is tried this many times in all (a camera's first
    /// frame, a sensor's first conversion) before it counts as a failure.
    package var attempts: Int

    package init(iterations: Int = 3, attempts: Int = 3) {
        self.iterations = max(0, iterations)
        self.attempts = max(1, attempts)
    }

    /// Loads `pluginPath` with the real loader (dlopen, ABI check), finds the model and runs the suite.
    /// `model` is a triplet or a one-word built-in name (`webcam` = `rdk:builtin:webcam`); `api` is
    /// needed only when the library registers that model under several APIs.
    package func run(pluginPath: String, model: String, api: String?, attributes: BSONDocument) -> ConformanceReport {
        let modelName = model.contains(":") ? model : "rdk:builtin:\(model)"
        let apiName = api.map { $0.contains(":") ? $0 : "rdk:component:\($0)" }
        var report = ConformanceReport(subject: pluginPath, api: apiName ?? "?", model: modelName)
        let registry = PluginRegistry()
        let info: PluginInfo
        do {
            info = try registry.load(path: pluginPath)
        } catch {
            report.checks.append(ConformanceCheck(name: "load", passed: false, detail: error.description))
            return report
        }
        return run(
            subject: pluginPath, loaded: "plugin \(info.name) \(info.version), ABI \(info.abiMajor).\(info.abiMinor)", models: registry.models,
            model: model, api: api, attributes: attributes)
    }

    /// The same for a plugin loaded elsewhere (in a process of its own): `loaded` says what was
    /// loaded, `models` are what it registered.
    package func run(
        subject: String, loaded: String, models: [any ConformanceModel], model: String, api: String?, attributes: BSONDocument
    ) -> ConformanceReport {
        let modelName = model.contains(":") ? model : "rdk:builtin:\(model)"
        let apiName = api.map { $0.contains(":") ? $0 : "rdk:component:\($0)" }
        var report = ConformanceReport(subject: subject, api: apiName ?? "?", model: modelName)
        report.checks.append(ConformanceCheck(name: "load", passed: true, detail: loaded))
        let candidates = models.filter { $0.model == modelName && (apiName == nil || $0.api == apiName) }
        guard candidates.count == 1, let found = candidates.first else {
            let available = models.map { "\($0.api) \($0.model)" }.sorted().joined(separator: "; ")
            let reason =
                candidates.isEmpty
                ? "\(subject) registers no model \(modelName)\(apiName.map { " for \($0)" } ?? ""); it has: \(available)"
                : "\(modelName) is registered for several APIs (\(candidates.map(\.api).sorted().joined(separator: ", "))): pass --api"
            report.checks.append(ConformanceCheck(name: "find model", passed: false, detail: reason))
            return report
        }
        report.api = found.api
        return run(found, attributes: attributes, into: report)
    }

    /// Runs the suite on any model (a plugin's, or a test's adapter over an in-process fake).
    package func run(_ model: any ConformanceModel, attributes: BSONDocument, subject: String) -> ConformanceReport {
        run(model, attributes: attributes, into: ConformanceReport(subject: subject, api: model.api, model: model.model))
    }

    private func run(_ model: any ConformanceModel, attributes: BSONDocument, into initial: ConformanceReport) -> ConformanceReport {
        var report = initial
        func record(_ name: String, _ passed: Bool, _ detail: String) {
            report.checks.append(ConformanceCheck(name: name, passed: passed, detail: detail))
        }
        let expectations = Expectations(api: model.api, attributes: attributes)
        let config: BSONDocument = [
            "name": "hil", "api": .string(model.api), "model": .string(model.model), "attributes": .document(attributes),
            "depends_on": [],
        ]

        // Advertised methods.
        let methods = model.captureMethods
        if methods.isEmpty {
            record("capture methods", false, "the model advertises no capture methods")
        } else if let known = Expectations.methods[model.api], case let unknown = methods.filter({ !known.contains($0) }), !unknown.isEmpty {
            record("capture methods", false, "\(unknown.joined(separator: ", ")) are not capture methods of \(model.api) (\(known.sorted().joined(separator: ", ")))")
        } else {
            record("capture methods", true, methods.joined(separator: ", "))
        }

        // Create.
        var instance: any ConformanceInstance
        do {
            instance = try model.makeInstance(config: config)
            record("create", true, "attributes \(attributes.extendedJSON(.relaxed))")
        } catch {
            record("create", false, "\(error.description)")
            return report
        }

        // Each method once, in its API's shape; then repeatedly, in the same shape.
        var working: [(method: String, shape: Shape)] = []
        for method in methods {
            switch firstCapture(instance, method) {
            case .failure(let error) where error.status == .unsupported:
                record("capture \(method)", true, "answers unsupported cleanly (\(error.message))")
            case .failure(let error):
                record("capture \(method)", false, Self.describe(error))
            case .success(let value):
                do {
                    let shape = try expectations.validate(method: method, value)
                    record("capture \(method)", true, shape.description)
                    working.append((method, shape))
                } catch {
                    record("capture \(method)", false, error.description)
                }
            }
        }
        // Unsupported is a clean answer, but a model that gives it for everything never touched the device.
        if working.isEmpty, !methods.isEmpty, !report.checks.contains(where: { !$0.passed }) {
            record(
                "a method captures", false,
                "every advertised method answered unsupported, so nothing on the device was exercised; advertise only methods the model captures")
        }
        if iterations > 0 {
            for (method, shape) in working {
                var problem: String?
                for attempt in 1...iterations where problem == nil {
                    do {
                        let again = try expectations.validate(method: method, try instance.capture(method: method, parameters: [:]))
                        if again != shape { problem = "capture \(attempt + 1) changed shape: \(again) instead of \(shape)" }
                    } catch let error as PluginCallError {
                        problem = "capture \(attempt + 1) failed: \(Self.describe(error))"
                    } catch {
                        problem = "capture \(attempt + 1): \(error)"
                    }
                }
                record("repeat \(method)", problem == nil, problem ?? "\(iterations) more captures, same shape")
            }
        }

        // A camera's GetImages leads with the same image ReadImage returns.
        if model.api == "rdk:component:camera", let read = working.first(where: { $0.method == "ReadImage" })?.shape,
            let all = working.first(where: { $0.method == "GetImages" })?.shape,
            case .binary(let single) = read, case .binary(let images) = all
        {
            let consistent = images.first == single.first
            record(
                "GetImages consistent", consistent,
                consistent ? "first image matches ReadImage (\(single.first ?? ""))" : "GetImages leads with \(images.first ?? "nothing"), ReadImage gives \(single.first ?? "nothing")")
        }

        // An unknown method must come back as a status with a message, not a crash or an OK.
        do {
            _ = try instance.capture(method: "FerryHILNoSuchMethod", parameters: [:])
            record("unknown method refused", false, "capture of a method the model does not have answered OK")
        } catch {
            record("unknown method refused", !error.message.isEmpty, error.message.isEmpty ? "refused without a message" : "\(error.status.rawValue): \(error.message)")
        }

        // Reconfigure with the same config: in place, or closed and re-created as the host would.
        let probe = working.first?.method
        do {
            if try instance.reconfigure(config: config) {
                let after = check(instance, probe)
                record("reconfigure", after.ok, "applied in place" + after.detail)
            } else {
                instance.close()
                instance = try model.makeInstance(config: config)
                let after = check(instance, probe)
                record("reconfigure", after.ok, "model re-creates instead (the host closes and creates)" + after.detail)
            }
        } catch {
            record("reconfigure", false, Self.describe(error))
        }

        // Close must release the device: a new instance on the same config works right away.
        instance.close()
        do {
            let again = try model.makeInstance(config: config)
            let after = check(again, probe)
            again.close()
            record("close and re-create", after.ok, "closed, then created anew" + after.detail)
        } catch {
            record("close and re-create", false, "after close, create failed: \(error.description) (does close release the device?)")
        }
        return report
    }

    private func firstCapture(_ instance: any ConformanceInstance, _ method: String) -> Result<CapturedValue, PluginCallError> {
        var last = PluginCallError(status: .fatal, message: "not captured")
        for _ in 0..<attempts {
            do {
                return .success(try instance.capture(method: method, parameters: [:]))
            } catch {
                last = error
                if error.status != .retryLater { break }
            }
        }
        return .failure(last)
    }

    /// Whether one capture of `method` still works, and a suffix for the check's detail.
    private func check(_ instance: any ConformanceInstance, _ method: String?) -> (ok: Bool, detail: String) {
        guard let method else { return (true, "") }
        do {
            _ = try instance.capture(method: method, parameters: [:])
            return (true, "; \(method) answers")
        } catch {
            return (false, "; \(method) failed afterwards: \(Self.describe(error))")
        }
    }

    static func describe(_ error: PluginCallError) -> String {
        error.message.isEmpty ? "\(error.status.rawValue) without a message" : "\(error.status.rawValue): \(error.message)"
    }
}
