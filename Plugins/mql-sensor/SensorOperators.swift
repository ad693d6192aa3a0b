import FerryBSON
import FerrySDK
#if canImport(Glibc)
    import Glibc
#endif

/// `{"$dewPoint": [<temperature °C>, <relative humidity %>]}`: the dew point in °C by the Magnus
/// formula (Alduchov & Eskridge constants, good from -40 to 50 °C). null if either input is null
/// or missing, as MongoDB's arithmetic does.
enum DewPoint {
    static let registration = OperatorRegistration(name: "$dewPoint", validate: validate, .expression(evaluate))

    static func validate(_ argument: BSON) throws {
        guard let array = argument.arrayValue, array.count == 2 else {
            throw PluginError.invalidArgument("$dewPoint takes [temperature_celsius, relative_humidity_percent]")
        }
    }

    static func evaluate(_ argument: BSON) throws -> BSON {
        guard let array = argument.arrayValue, array.count == 2 else { try validate(argument); return .null }
        if array.contains(where: { $0 == .null || $0 == .undefined }) { return .null }
        guard let t = array[0].doubleValue, let rh = array[1].doubleValue else {
            throw PluginError.invalidArgument("$dewPoint: temperature and humidity must be numbers")
        }
        guard rh > 0, rh <= 100 else { throw PluginError.invalidArgument("$dewPoint: relative humidity must be in (0, 100], got \(rh)") }
        let (a, b) = (17.625, 243.04)
        let gamma = log(rh / 100) + a * t / (b + t)
        return .double(b * gamma / (a - gamma))
    }
}

/// `{"$rms": <expression>}` in $group / $setWindowFields: the root mean square of the numeric
/// values (vibration and AC signals); non-numbers are ignored, as $avg ignores them.
final class RootMeanSquare: Accumulator {
    static let registration = OperatorRegistration(name: "$rms", .accumulator { _ in RootMeanSquare() })

    var sumOfSquares = 0.0
    var count = 0

    func add(_ value: BSON) throws {
        guard let number = value.doubleValue else { return }
        sumOfSquares += number * number
        count += 1
    }

    func merge(_ other: Accumulator) throws {
        guard let other = other as? RootMeanSquare else { throw PluginError.invalidArgument("$rms cannot merge another accumulator") }
        sumOfSquares += other.sumOfSquares
        count += other.count
    }

    func finalize() throws -> BSON { count == 0 ? .null : .double((sumOfSquares / Double(count)).squareRoot()) }
}
