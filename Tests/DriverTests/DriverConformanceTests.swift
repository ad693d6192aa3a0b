import FerryBSON
import FerryDevice
import FerryGPIODrivers
import FerryHIL
import FerryHILTestSupport
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
        let report = ConformanceSuite().run(InProcessModel(registration), attributes: attributes, subject: "in-process fake")
        #expect(report.passed, "\(report.text)")
    }
}
