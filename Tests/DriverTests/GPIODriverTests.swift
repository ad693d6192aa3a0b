import CFerryLinux
import FerryBSON
import FerryDevice
import FerryGPIODrivers
import FerryI2CDrivers
import FerrySDK
import Testing

#if canImport(Glibc)
    import Glibc
#endif

func config(_ api: String, _ model: String, _ attributes: BSONDocument) -> ComponentConfig {
    ComponentConfig(name: "c", api: api, model: model, attributes: attributes)
}

@Suite struct CustomLinuxBoardTests {
    func makeChip(_ levels: [UInt32: Bool]) -> FakeKernel.Chip {
        let chip = FakeKernel.Chip()
        chip.levels = levels
        return chip
    }

    @Test func readsPinsAsInputsWithOneRequestPerChip() throws {
        let chip0 = makeChip([17: true, 27: false]), chip1 = makeChip([3: true])
        let kernel = FakeKernel(chips: ["/dev/gpiochip0": chip0, "/dev/gpiochip1": chip1])
        let board = try CustomLinuxBoard(
            config: config(
                "rdk:component:board", CustomLinuxBoard.model,
                [
                    "pins": [
                        ["name": "button", "device_name": "gpiochip0", "line_number": 17],
                        ["name": "door", "device_name": "gpiochip0", "line_number": 27],
                        ["name": "limit", "device_name": "/dev/gpiochip1", "line_number": 3],
                    ]
                ]), io: kernel)
        #expect(
            try board.capture(method: "Gpios", parameters: [:])
                == .tabular(["gpios": ["button": ["high": true], "door": ["high": false], "limit": ["high": true]]]))
        chip0.levels[27] = true
        #expect(try board.capture(method: "Gpios", parameters: ["pin_name": "door"]) == .tabular(["high": true]))
        #expect(chip0.requests.count == 1 && chip1.requests.count == 1, "lines are requested once and held")
        #expect(chip0.requests[0].offsets == [17, 27])
        #expect(chip0.requests[0].flags == UInt64(GPIO_V2_LINE_FLAG_INPUT.rawValue))
        #expect(chip0.requests[0].consumer == "ferry-board")
        board.close()
        #expect(kernel.openDescriptors == 0, "close releases every line request")
    }

    @Test func analogReadersComeFromAnADS1115() throws {
        let bus = FakeI2CBus(devices: [0x49: FakeADS1115(channels: [1: 12000])])
        let board = try CustomLinuxBoard(
            config: config(
                "rdk:component:board", CustomLinuxBoard.model,
                ["analogs": [["name": "battery", "i2c_bus": "/dev/i2c-1", "i2c_addr": 0x49, "channel": 1, "full_scale_volts": 6.144]]]),
            io: FakeKernel(i2c: bus))
        let expected = AnalogValue(value: 12000, minRange: -6.144, maxRange: 6.144, stepSize: 6.144 / 32768)
        #expect(try board.readAnalog("battery") == expected)
        guard case .tabular(let all) = try board.capture(method: "Analogs", parameters: [:]) else { Issue.record("not tabular"); return }
        #expect(all["analogs"]?.documentValue?["battery"]?.documentValue?["value"] == .int32(12000))
    }

    @Test func aBusyLineIsRetryLaterAndAMissingChipIsAConfigError() throws {
        let chip = makeChip([5: true])
        chip.busy = [5]
        let kernel = FakeKernel(chips: ["/dev/gpiochip0": chip])
        let pins: BSON = [["name": "p", "device_name": "gpiochip0", "line_number": 5]]
        let board = try CustomLinuxBoard(config: config("rdk:component:board", CustomLinuxBoard.model, ["pins": pins]), io: kernel)
        let busy = pluginError { try board.readGPIO("p") }
        #expect(busy?.kind == .retryLater)
        #expect(busy?.message.contains("/dev/gpiochip0") == true)
        chip.busy = []
        #expect(try board.readGPIO("p") == true, "the next read succeeds once the line is free")

        let missing = try CustomLinuxBoard(
            config: config("rdk:component:board", CustomLinuxBoard.model, ["pins": [["name": "p", "device_name": "gpiochip9", "line_number": 5]]]),
            io: kernel)
        let error = pluginError { try missing.readGPIO("p") }
        #expect(error?.kind == .invalidArgument)
        #expect(error?.message.contains("no such device /dev/gpiochip9") == true)
    }

    @Test func badAttributesNameTheirPath() {
        let kernel = FakeKernel()
        for (attributes, word) in [
            ([:] as BSONDocument, "pins or analogs"),
            (["pins": [["name": "a", "device_name": "gpiochip0"]]], "pins[0].line_number"),
            (["pins": [["name": "a", "device_name": "gpiochip0", "line_number": 1], ["name": "a", "device_name": "gpiochip0", "line_number": 2]]], "pins[1].name"),
            (["analogs": [["name": "x", "i2c_bus": "/dev/i2c-1", "channel": 7]]], "analogs[0].channel"),
            (["analogs": [["name": "x", "channel": 0]]], "analogs[0].i2c_bus"),
        ] {
            let error = pluginError { try CustomLinuxBoard(config: config("rdk:component:board", CustomLinuxBoard.model, attributes), io: kernel) }
            #expect(error?.kind == .invalidArgument)
            #expect(error?.message.contains(word) == true, "\(String(describing: error))")
        }
    }
}

@Suite struct GPIOMotorTests {
    static let pwm = "/sys/class/pwm/pwmchip0"

    func kernel() -> (FakeKernel, FakeKernel.Chip) {
        let chip = FakeKernel.Chip()
        chip.levels = [20: false, 21: false]
        let kernel = FakeKernel(chips: ["/dev/gpiochip0": chip], files: ["\(Self.pwm)/export": ""])
        kernel.onWrite["\(Self.pwm)/export"] = { channel, kernel in
            for name in ["enable", "period", "duty_cycle"] { kernel.setFile("\(Self.pwm)/pwm\(channel)/\(name)", "0\n") }
        }
        return (kernel, chip)
    }

    let attributes: BSONDocument = [
        "gpio_chip": "gpiochip0", "pins": ["dir": 5], "pwm_chip": "/sys/class/pwm/pwmchip0", "pwm_channel": 1, "pwm_frequency_hz": 10000,
        "encoder": ["a": 20, "b": 21], "ticks_per_rotation": 8,
    ]

    @Test func setPowerDrivesSysfsPWMAndDirectionAndIsPoweredReadsItBack() throws {
        let (kernel, chip) = kernel()
        let motor = try GPIOMotor(config: config("rdk:component:motor", GPIOMotor.model, attributes), io: kernel)
        #expect(pluginError { try motor.isPowered() }?.kind == .invalidArgument, "before export the channel does not exist")
        #expect(try motor.doCommand(["set_power": -0.25]) == ["is_on": true, "power_pct": -0.25])
        #expect(kernel.file("\(Self.pwm)/pwm1/period") == "100000")
        #expect(kernel.file("\(Self.pwm)/pwm1/duty_cycle") == "25000")
        #expect(kernel.file("\(Self.pwm)/pwm1/enable") == "1")
        #expect(chip.levels[5] == false, "reverse drives dir low")
        #expect(try motor.capture(method: "IsPowered", parameters: [:]) == .tabular(["is_on": true, "power_pct": -0.25]))
        _ = try motor.doCommand(["set_power": 0.5])
        #expect(chip.levels[5] == true)
        #expect(chip.requests.filter { $0.consumer == "ferry-motor" }.count == 1)
        // Someone else turning the PWM off shows: IsPowered reads the kernel, not a cache.
        kernel.setFile("\(Self.pwm)/pwm1/enable", "0\n")
        #expect(try motor.isPowered() == (false, 0))
        #expect(try motor.doCommand(["stop": true]) == ["is_on": false, "power_pct": .double(0)])
    }

    @Test func positionCountsQuadratureEdges() throws {
        let (kernel, _) = kernel()
        let motor = try GPIOMotor(config: config("rdk:component:motor", GPIOMotor.model, attributes), io: kernel)
        #expect(try motor.position() == 0)
        // Two forward cycles (A leads B): 8 counts = one rotation.
        for _ in 0..<2 {
            kernel.edge(chip: "/dev/gpiochip0", line: 20, rising: true)
            kernel.edge(chip: "/dev/gpiochip0", line: 21, rising: true)
            kernel.edge(chip: "/dev/gpiochip0", line: 20, rising: false)
            kernel.edge(chip: "/dev/gpiochip0", line: 21, rising: false)
        }
        #expect(try motor.capture(method: "Position", parameters: [:]) == .tabular(["position": .double(1)]))
        // Half a cycle back (B leads A).
        kernel.edge(chip: "/dev/gpiochip0", line: 21, rising: true)
        kernel.edge(chip: "/dev/gpiochip0", line: 20, rising: true)
        #expect(try motor.position() == 0.75)
    }

    @Test func withoutAnEncoderPositionIsUnsupported() throws {
        var attributes = self.attributes
        attributes["encoder"] = nil
        let motor = try GPIOMotor(config: config("rdk:component:motor", GPIOMotor.model, attributes), io: kernel().0)
        #expect(pluginError { try motor.position() }?.kind == .unsupported)
    }

    @Test func quadratureCountsBothWaysAndCountsLostEdges() {
        var q = Quadrature(a: false, b: false)
        q.edge(lineA: true, high: true)
        q.edge(lineA: false, high: true)
        #expect(q.count == 2)
        q.edge(lineA: false, high: false)
        #expect(q.count == 1)
        var skip = Quadrature(a: false, b: false)
        skip.edge(lineA: true, high: true)
        skip.edge(lineA: true, high: true)  // a falling edge of A was lost in between
        #expect(skip.count == 1)
        #expect(skip.missed == 1)
    }
}

@Suite struct DHArmTests {
    @Test func xarm6AndUR5eZeroPosesMatchTheVendorsDocumentation() {
        let xarm = DHChain.xarm6.pose(degrees: [0, 0, 0, 0, 0, 0])
        #expect(abs(xarm.x - 207) < 0.01 && abs(xarm.y) < 0.01 && abs(xarm.z - 112) < 0.01)
        #expect(abs(xarm.oZ + 1) < 1e-9, "the flange points straight down")
        let ur = DHChain.ur5e.pose(degrees: [0, 0, 0, 0, 0, 0])
        #expect(abs(ur.x + 817.2) < 0.01 && abs(ur.y + 232.9) < 0.01 && abs(ur.z - 62.8) < 0.01)
    }

    @Test func jointsFromPotentiometersAndSysfsGiveEndPosition() throws {
        let bus = FakeI2CBus(devices: [0x48: FakeADS1115(channels: [0: 16000, 1: 8000])])
        let kernel = FakeKernel(
            files: [
                "/iio/in_angl0_raw": "1024\n", "/iio/in_angl1_raw": "2048\n", "/iio/in_angl2_raw": "0\n", "/iio/in_angl3_raw": "512\n",
            ], i2c: bus)
        func file(_ n: Int) -> BSON { ["source": "file", "path": .string("/iio/in_angl\(n)_raw"), "degrees_per_unit": 0.087890625, "offset_deg": -90] }
        let arm = try DHArm(
            config: config(
                "rdk:component:arm", DHArm.model,
                [
                    "kinematics": "xarm6",
                    "joints": [
                        ["source": "ads1115", "i2c_bus": "/dev/i2c-1", "channel": 0, "full_scale_volts": 4.096, "degrees_per_volt": 36, "volts_at_zero": 1.0],
                        ["source": "ads1115", "i2c_bus": "/dev/i2c-1", "channel": 1, "full_scale_volts": 4.096, "degrees_per_volt": 36, "volts_at_zero": 1.0],
                        file(0), file(1), file(2), file(3),
                    ],
                ]), io: kernel)
        let joints = try arm.jointPositions()
        // 16000 counts × 4.096/32768 V = 2 V → (2 − 1) × 36 = 36°; 8000 → 1 V → 0°.
        #expect(joints.map { ($0 * 1e6).rounded() / 1e6 } == [36, 0, 0, 90, -90, -45])
        #expect(try arm.endPosition() == DHChain.xarm6.pose(degrees: joints))
        guard case .tabular(let doc) = try arm.capture(method: "EndPosition", parameters: [:]) else { Issue.record("not tabular"); return }
        #expect(doc["pose"]?.documentValue?["x"]?.doubleValue != nil)
    }

    @Test func customDHParametersAndValidation() throws {
        let kernel = FakeKernel(files: ["/a": "30", "/b": "60"])
        let arm = try DHArm(
            config: config(
                "rdk:component:arm", DHArm.model,
                [
                    "dh_parameters": [["a_mm": 100, "d_mm": 0, "alpha_deg": 0], ["a_mm": 50, "d_mm": 0, "alpha_deg": 0]],
                    "joints": [["source": "file", "path": "/a"], ["source": "file", "path": "/b"]],
                ]), io: kernel)
        // A planar two-link arm: x = 100 cos30° + 50 cos90°, y = 100 sin30° + 50 sin90°.
        let pose = try arm.endPosition()
        #expect(abs(pose.x - 86.6025) < 1e-3 && abs(pose.y - 100) < 1e-9)
        for (attributes, word) in [
            (["kinematics": "ur3", "joints": []] as BSONDocument, "kinematics"),
            (["kinematics": "ur5e", "joints": [["source": "file", "path": "/a"]]], "1 entries"),
            (["kinematics": "ur5e"], "joints"),
            (["dh_parameters": [["a_mm": 1, "d_mm": 0]], "joints": [["source": "file", "path": "/a"]]], "dh_parameters[0].alpha_deg"),
            (["dh_parameters": [["a_mm": 1, "d_mm": 0, "alpha_deg": 0]], "joints": [["source": "laser"]]], "joints[0].source"),
        ] {
            let error = pluginError { try DHArm(config: config("rdk:component:arm", DHArm.model, attributes), io: kernel) }
            #expect(error?.kind == .invalidArgument)
            #expect(error?.message.contains(word) == true, "\(String(describing: error))")
        }
    }
}
