import FerryBSON
import FerryDevice
import FerryI2CDrivers
import FerrySDK
import Testing

#if canImport(Glibc)
    import Glibc
#endif

func sensorConfig(_ model: String, _ attributes: BSONDocument) -> ComponentConfig {
    ComponentConfig(name: "s", api: "rdk:component:sensor", model: model, attributes: attributes)
}

/// The PluginError `body` throws, or nil.
func pluginError(_ body: () throws -> Any) -> PluginError? {
    do {
        _ = try body()
        return nil
    } catch let error as PluginError {
        return error
    } catch {
        return nil
    }
}

@Suite struct TMP102Tests {
    let bus1: BSONDocument = ["i2c_bus": "/dev/i2c-1", "i2c_addr": 72]

    @Test func readsTemperatureFromRegisterZero() throws {
        // Datasheet table 5: 0x190 (top 12 bits of 0x1900) is 25 °C.
        let chip = WordRegisters([0x00: 0x1900, 0x01: 0x60A0])
        let sensor = try TMP102(config: sensorConfig(TMP102.model, bus1), io: FakeI2CBus(devices: [0x48: chip]))
        #expect(try sensor.readings(extra: [:]) == ["temperature_celsius": .double(25)])
        #expect(try sensor.capture(method: "Readings", parameters: [:]) == .tabular(["readings": ["temperature_celsius": .double(25)]]))
    }

    @Test func negativeAndExtendedModeTemperatures() throws {
        #expect(TMP102.celsius(raw: Int16(bitPattern: 0xE700), extended: false) == -25)
        #expect(TMP102.celsius(raw: Int16(bitPattern: 0xFFF0), extended: false) == -0.0625)
        // Extended mode (13 bits): 150 °C is 0x12C0 → 0x0960 << 3.
        #expect(TMP102.celsius(raw: 0x4B00, extended: true) == 150)
        let chip = WordRegisters([0x00: 0x4B00, 0x01: 0x60B0])
        let sensor = try TMP102(config: sensorConfig(TMP102.model, bus1), io: FakeI2CBus(devices: [0x48: chip]))
        #expect(try sensor.temperatureCelsius() == 150)
    }

    @Test func aNackIsRetryLaterNamingBusAndAddressAndTheNextReadWorks() throws {
        let bus = FakeI2CBus(devices: [0x48: WordRegisters([0x00: 0x1900])])
        let sensor = try TMP102(config: sensorConfig(TMP102.model, bus1), io: bus)
        for errno in [EREMOTEIO, ETIMEDOUT, EIO] {
            bus.failures = [errno]
            let error = pluginError { try sensor.readings(extra: [:]) }
            #expect(error?.kind == .retryLater)
            #expect(error?.message.contains("/dev/i2c-1") == true)
            #expect(error?.message.contains("0x48") == true)
        }
        #expect(try sensor.temperatureCelsius() == 25)
    }

    @Test func noDeviceAtTheAddressIsRetryLater() throws {
        let sensor = try TMP102(
            config: sensorConfig(TMP102.model, ["i2c_bus": "/dev/i2c-1", "i2c_addr": 0x49]),
            io: FakeI2CBus(devices: [0x48: RegisterFile()]))
        let error = pluginError { try sensor.readings(extra: [:]) }
        #expect(error?.kind == .retryLater)
        #expect(error?.message.contains("no device answered at address 0x49") == true)
    }

    @Test func missingBusIsAConfigErrorThatSaysWhatToCheck() {
        let error = pluginError {
            try TMP102(config: sensorConfig(TMP102.model, ["i2c_bus": "/dev/i2c-7", "i2c_addr": 72]), io: FakeI2CBus(devices: [:]))
        }
        #expect(error?.kind == .invalidArgument)
        #expect(error?.message.contains("no such device /dev/i2c-7") == true)
    }

    @Test func badAttributesAreRefusedBeforeTouchingTheBus() {
        let bus = FakeI2CBus(devices: [:])
        let cases: [(BSONDocument, String)] = [
            ([:], "i2c_bus"), (["i2c_bus": "i2c-1"], "i2c_bus"), (["i2c_bus": "/dev/i2c-1", "i2c_addr": 200], "i2c_addr"),
            (["i2c_bus": "/dev/i2c-1", "i2c_addr": "0x48"], "i2c_addr"),
        ]
        for (attributes, word) in cases {
            let error = pluginError { try TMP102(config: sensorConfig(TMP102.model, attributes), io: bus) }
            #expect(error?.kind == .invalidArgument)
            #expect(error?.message.contains(word) == true, "\(String(describing: error))")
        }
        #expect(bus.openCount == 0)
    }

    @Test func closeReleasesTheBus() throws {
        let bus = FakeI2CBus(devices: [0x48: RegisterFile()])
        let sensor = try TMP102(config: sensorConfig(TMP102.model, bus1), io: bus)
        sensor.close()
        #expect(bus.openCount == 1 && bus.closeCount == 1)
    }
}

@Suite struct ADS1115Tests {
    @Test func readsEachChannelAsVoltsWithSingleShotConversions() throws {
        let chip = FakeADS1115(channels: [0: 16384, 1: -8192, 2: 0, 3: 32767])
        let sensor = try ADS1115Sensor(
            config: sensorConfig(ADS1115Sensor.model, ["i2c_bus": "/dev/i2c-1", "i2c_addr": 72, "full_scale_volts": 2.048]),
            io: FakeI2CBus(devices: [0x48: chip]))
        let readings = try sensor.readings(extra: [:])
        #expect(readings["a0"] == .double(1.024))
        #expect(readings["a1"] == .double(-0.512))
        #expect(readings["a2"] == .double(0))
        #expect(readings["a3"]?.doubleValue.map { abs($0 - 2.0479375) < 1e-9 } == true)
        // OS=1, MUX=AIN0..3 vs GND (100..111), PGA=010 (±2.048 V), single shot, 128 SPS, comparator off.
        #expect(chip.configWrites == [0xC583, 0xD583, 0xE583, 0xF583])
    }

    @Test func aConversionThatNeverFinishesIsRetryLater() throws {
        let chip = FakeADS1115(channels: [0: 1], busyPolls: 10_000)
        let sensor = try ADS1115Sensor(
            config: sensorConfig(ADS1115Sensor.model, ["i2c_bus": "/dev/i2c-1", "channels": [0]]), io: FakeI2CBus(devices: [0x48: chip]))
        let error = pluginError { try sensor.readings(extra: [:]) }
        #expect(error?.kind == .retryLater)
        #expect(error?.message.contains("did not finish a conversion") == true)
    }

    @Test func channelsAndGainAreValidated() {
        let bus = FakeI2CBus(devices: [:])
        for (attributes, word) in [
            (["i2c_bus": "/dev/i2c-1", "channels": [4]] as BSONDocument, "channels[0]"),
            (["i2c_bus": "/dev/i2c-1", "full_scale_volts": 3.3], "full_scale_volts"),
        ] {
            let error = pluginError { try ADS1115Sensor(config: sensorConfig(ADS1115Sensor.model, attributes), io: bus) }
            #expect(error?.kind == .invalidArgument)
            #expect(error?.message.contains(word) == true)
        }
    }

    @Test func analogValueCarriesRangeAndStep() throws {
        let chip = FakeADS1115(channels: [2: 1000])
        let device = try SMBusDevice(io: FakeI2CBus(devices: [0x48: chip]), bus: "/dev/i2c-1", address: 0x48)
        let adc = try ADS1115(device: device, fullScaleVolts: 4.096)
        #expect(try adc.analogValue(channel: 2) == AnalogValue(value: 1000, minRange: -4.096, maxRange: 4.096, stepSize: 0.000125))
    }
}

@Suite struct RegisterSensorTests {
    @Test func readsTMP102LikeAndLittleEndianFields() throws {
        let chip = RegisterFile([0x00: 0xE7, 0x01: 0x00, 0x10: 0x34, 0x11: 0x12, 0x20: 0xFE, 0x30: 0x80])
        let sensor = try RegisterSensor(
            config: sensorConfig(
                RegisterSensor.model,
                [
                    "i2c_bus": "/dev/i2c-1", "i2c_addr": 0x40,
                    "registers": [
                        ["name": "temperature_celsius", "register": 0, "length": 2, "signed": true, "shift": 4, "scale": 0.0625],
                        ["name": "count", "register": 0x10, "length": 2, "byte_order": "little"],
                        ["name": "delta", "register": 0x20, "signed": true, "scale": 2, "offset": 1],
                        ["name": "unsigned_byte", "register": 0x30],
                    ],
                ]),
            io: FakeI2CBus(devices: [0x40: chip]))
        #expect(
            try sensor.readings(extra: [:]) == [
                "temperature_celsius": .double(-25), "count": .double(0x1234), "delta": .double(-3), "unsigned_byte": .double(128),
            ])
    }

    @Test func badRegisterEntriesNameTheirPath() {
        let bus = FakeI2CBus(devices: [:])
        for (entry, word) in [
            (["name": "x", "register": 0, "length": 9] as BSONDocument, "registers[0].length"),
            (["register": 0], "registers[0].name"),
            (["name": "x", "register": 0, "byte_order": "middle"], "registers[0].byte_order"),
            (["name": "x", "register": 300], "registers[0].register"),
        ] {
            let error = pluginError {
                try RegisterSensor(config: sensorConfig(RegisterSensor.model, ["i2c_bus": "/dev/i2c-1", "i2c_addr": 64, "registers": [.document(entry)]]), io: bus)
            }
            #expect(error?.kind == .invalidArgument)
            #expect(error?.message.contains(word) == true, "\(String(describing: error))")
        }
    }
}
