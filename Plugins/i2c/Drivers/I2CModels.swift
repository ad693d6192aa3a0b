import FerryDevice
import FerrySDK

/// The I2C sensor models, reaching their buses through `io`.
public enum I2CModels {
    public static func registrations(io: any DeviceIO) -> [ModelRegistration] {
        [
            ModelRegistration(api: .sensor, model: TMP102.model) { try TMP102(config: $0, io: io) },
            ModelRegistration(api: .sensor, model: BME280.model) { try BME280(config: $0, io: io) },
            ModelRegistration(api: .sensor, model: ADS1115Sensor.model) { try ADS1115Sensor(config: $0, io: io) },
            ModelRegistration(api: .sensor, model: RegisterSensor.model) { try RegisterSensor(config: $0, io: io) },
        ]
    }
}
