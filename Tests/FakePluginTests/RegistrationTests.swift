import FerryBSON
import FerrySDK
import Testing

@testable import FerryFake

@Suite struct RegistrationTests {
    @Test func everyAPIHasAFakeModelWithAllOfViamsCaptureMethods() {
        let registrations = FakeModels.registrations(clock: { 0 })
        #expect(Set(registrations.map(\.api)) == Set(ComponentAPI.allCases.map(\.rawValue) + ServiceAPI.allCases.map(\.rawValue)))
        #expect(registrations.count == ComponentAPI.allCases.count + ServiceAPI.allCases.count)
        for registration in registrations {
            #expect(registration.model == "rdk:builtin:fake")
            let methods = ComponentAPI(rawValue: registration.api)?.captureMethods ?? ServiceAPI(rawValue: registration.api)?.captureMethods
            #expect(registration.captureMethods == methods)
        }
    }

    @Test func everyCaptureMethodOfEveryModelProducesItsKindOfOutput() throws {
        let clock = ManualClock()
        for registration in FakeModels.registrations(clock: clock.read) where ComponentAPI(rawValue: registration.api) != nil {
            let api = try #require(ComponentAPI(rawValue: registration.api))
            let component = try registration.create(config(api, name: "all-\(api)"))
            for method in registration.captureMethods {
                let output = try component.capture(method: method, parameters: [:])
                if api.binaryCaptureMethods.contains(method) {
                    #expect(!binary(output).isEmpty, "\(api) \(method) returned no payload")
                } else {
                    #expect(tabular(output)?.isEmpty == false, "\(api) \(method) returned no reading")
                }
            }
            let error = pluginError { try component.capture(method: "Bogus", parameters: [:]) }
            #expect(error?.kind == .unsupported)
            #expect(try component.doCommand(["ping": 1]) == ["ping": 1], "\(api) echoes DoCommand")
        }
    }

    @Test func theRegisteredDefinitionUsesTheRealClock() {
        #expect(FakeModels.definition.name == "fake")
        #expect(FakeModels.definition.models.count == 10)
        let now = SystemClock.now()
        #expect(now > 1_600_000_000 && now < 4_000_000_000)
    }
}
