import FerryBSON
import FerryDevice
import FerryGPIODrivers
import FerryHIL
import FerryI2CDrivers
import FerryLoader
import FerrySDK
import Testing

/// `ferry hil`'s conformance suite, run on each driver over in-process fake devices: the same
/// checks a user runs on hardware, here covering the GPIO chip paths umockdev cannot script (a
/// GPIO line request hands back a new descriptor).
@Suite struct DriverConformanceTests {
    static func gpioKernel() -> FakeKernel {
        let chip = FakeKernel.Chip()
        chip.levels = [17: true, 27: false, 20: false, 21: false]
        let pwm = "/sys/class/pwm/pwmchip0/pwm0"
        return FakeKernel(
            chips: ["/dev/gpiochip0": chip],
            files: ["\(pwm)/enable": "1\n", "\(pwm)/period": "50000\n", "\(pwm)/duty_cycle": "12500\n", "/iio/angle": "90\n"],
            i2c: FakeI2CBus(devices: [0x48: FakeADS1115(channels: [0: 16000, 1: 8000])]))
    }

    static let cases: [(registration: ModelRegistration, attributes: BSONDocument)] = {
        let io = gpioKernel()
        let models = GPIOModels.registrations(io: io) + I2CModels.registrations(io: io)
        func model(_ name: String) -> ModelRegistration { models.first { $0.model == name }! }
        let file: BSON = ["source": "file", "path": "/iio/angle"]
        return [
            (
                model(CustomLinuxBoard.model),
                [
                    "pins": [["name": "a", "device_name": "gpiochip0", "line_number": 17], ["name": "b", "device_name": "gpiochip0", "line_number": 27]],
                    "analogs": [["name": "v", "i2c_bus": "/dev/i2c-1", "channel": 0]],
                ]
            ),
            (
                model(GPIOMotor.model),
                [
                    "gpio_chip": "gpiochip0", "pins": ["dir": 5], "pwm_chip": "/sys/class/pwm/pwmchip0", "encoder": ["a": 20, "b": 21],
                    "ticks_per_rotation": 400,
                ]
            ),
            (model(DHArm.model), ["kinematics": "xarm6", "joints": [file, file, file, file, file, file]]),
            (model(ADS1115Sensor.model), ["i2c_bus": "/dev/i2c-1", "i2c_addr": 72]),
        ]
    }()

    @Test(arguments: cases.indices)
    func driverConforms(_ index: Int) {
        let (registration, attributes) = Self.cases[index]
        let report = ConformanceSuite().run(DriverModel(registration: registration), attributes: attributes, subject: "in-process fake")
        #expect(report.passed, "\(report.text)")
    }
}

/// A driver model seen through the suite's eyes, converting errors as the C ABI does.
struct DriverModel: ConformanceModel {
    let registration: ModelRegistration
    var api: String { registration.api }
    var model: String { registration.model }
    var captureMethods: [String] { registration.captureMethods }

    func makeInstance(config: BSONDocument) throws(PluginCallError) -> any ConformanceInstance {
        do { return DriverInstance(component: try registration.create(ComponentConfig(document: config))) } catch { throw callError(error) }
    }
}

final class DriverInstance: ConformanceInstance {
    let component: any Component
    init(component: any Component) { self.component = component }

    func capture(method: String, parameters: BSONDocument) throws(PluginCallError) -> CapturedValue {
        do {
            switch try component.capture(method: method, parameters: parameters) {
            case .tabular(let document): return .tabular(document)
            case .binary(let payloads): return .binary(payloads.map { CapturedBinary(bytes: $0.bytes, mimeType: $0.mimeType) })
            }
        } catch { throw callError(error) }
    }

    func reconfigure(config: BSONDocument) throws(PluginCallError) -> Bool {
        do {
            try component.reconfigure(ComponentConfig(document: config))
            return true
        } catch let error as PluginError where error.kind == .unsupported {
            return false
        } catch { throw callError(error) }
    }

    func close() { component.close() }
}

func callError(_ error: any Error) -> PluginCallError {
    guard let error = error as? PluginError else { return PluginCallError(status: .fatal, message: "\(error)") }
    let status: PluginCallError.Status =
        switch error.kind {
        case .retryLater: .retryLater
        case .invalidArgument: .invalidArgument
        case .unsupported: .unsupported
        case .fatal: .fatal
        }
    return PluginCallError(status: status, message: error.message)
}
