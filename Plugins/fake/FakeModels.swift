import FerryBSON
import FerrySDK

/// Every fake model answers DoCommand with the command it was given, so a client can check the
/// call's round trip (what went in comes back).
protocol EchoesCommands: Component {}
extension EchoesCommands {
    func doCommand(_ command: BSONDocument) throws -> BSONDocument { command }
}

/// The `rdk:builtin:fake` model of every component API and of the vision service, all reading time
/// from `clock`.
enum FakeModels {
    static let model = "rdk:builtin:fake"

    static func registrations(clock: @escaping FakeClock) -> [ModelRegistration] {
        // Instances hold only constants fixed at creation and compute every reading from the clock,
        // so one instance may safely serve several collectors at once.
        func fake(_ api: ComponentAPI, _ make: @escaping @Sendable (ComponentConfig, @escaping FakeClock) throws -> any Component)
            -> ModelRegistration
        {
            ModelRegistration(api: api, model: model, threadSafe: true) { try make($0, clock) }
        }
        return [
            fake(.arm, FakeArm.init),
            fake(.board, FakeBoard.init),
            fake(.camera, FakeCamera.init),
            fake(.encoder, FakeEncoder.init),
            fake(.gantry, FakeGantry.init),
            fake(.motor, FakeMotor.init),
            fake(.movementSensor, FakeMovementSensor.init),
            fake(.sensor, FakeSensor.init),
            fake(.servo, FakeServo.init),
            // A service model (ABI 1.2): the vision service over the fake camera's scene.
            ModelRegistration(api: ServiceAPI.vision, model: model, threadSafe: true) { try FakeVision(config: $0, clock: clock) },
        ]
    }

    static let definition = PluginDefinition(name: "fake", version: "0.1.0", models: registrations(clock: SystemClock.now))
}
