import FerryDevice
import FerrySDK

/// The GPIO plugin's models (board, motor, arm), reaching the kernel through `io`.
public enum GPIOModels {
    public static func registrations(io: any DeviceIO) -> [ModelRegistration] {
        [
            ModelRegistration(api: .board, model: CustomLinuxBoard.model) { try CustomLinuxBoard(config: $0, io: io) },
            ModelRegistration(api: .motor, model: GPIOMotor.model) { try GPIOMotor(config: $0, io: io) },
            ModelRegistration(api: .arm, model: DHArm.model) { try DHArm(config: $0, io: io) },
        ]
    }
}
