#if canImport(Glibc)
    import Glibc
#endif

import FerryBSON
import FerryDevice
import FerryI2CDrivers
import FerrySDK

/// The `dh-arm` model: an arm without a vendor protocol, whose joint angles come from sensors on
/// each joint and whose EndPosition is the forward kinematics of those angles.
///
///     {"kinematics": "ur5e",            // or "xarm6", or "dh_parameters": [{a_mm, d_mm, alpha_deg, theta_offset_deg}…]
///      "joints": [                      // one per DH row, in order
///        {"source": "ads1115", "i2c_bus": "/dev/i2c-1", "i2c_addr": 72, "channel": 0,
///         "degrees_per_volt": 72, "volts_at_zero": 2.5},
///        {"source": "file", "path": "/sys/bus/iio/devices/iio:device0/in_angl0_raw",
///         "degrees_per_unit": 0.087890625, "offset_deg": -180}, …]}
///
/// A potentiometer on an ADS1115 channel reads `(volts − volts_at_zero) × degrees_per_volt`; a
/// `file` source (an IIO or hwmon attribute, say) reads one number `n` and gives
/// `n × degrees_per_unit + offset_deg`.
public final class DHArm: Arm {
    public static let model = "rdk:builtin:dh-arm"

    enum Source {
        case adc(address: I2CAddress, channel: Int, fullScale: Double, degreesPerVolt: Double, voltsAtZero: Double)
        case file(path: String, degreesPerUnit: Double, offset: Double)
    }

    let chain: DHChain
    let sources: [Source]
    private let io: any DeviceIO
    private var adcs: [String: ADS1115] = [:]

    public init(config: ComponentConfig, io: any DeviceIO) throws {
        self.io = io
        let attributes = config.attributes
        chain = try DHArm.chain(attributes)
        guard let joints = attributes["joints"]?.arrayValue else {
            throw PluginError.invalidArgument("attribute joints is required: one angle source per joint (\(chain.joints.count) for this arm)")
        }
        guard joints.count == chain.joints.count else {
            throw PluginError.invalidArgument("attribute joints has \(joints.count) entries; the kinematics have \(chain.joints.count) joints")
        }
        sources = try joints.enumerated().map { index, value in try DHArm.source(value, path: "joints[\(index)]") }
    }

    static func chain(_ attributes: BSONDocument) throws -> DHChain {
        if let rows = attributes["dh_parameters"] {
            guard attributes["kinematics"] == nil else {
                throw PluginError.invalidArgument("give attribute kinematics or dh_parameters, not both")
            }
            guard let array = rows.arrayValue, !array.isEmpty else {
                throw PluginError.invalidArgument("attribute dh_parameters must be a non-empty array of {a_mm, d_mm, alpha_deg, theta_offset_deg}")
            }
            return DHChain(joints: try array.enumerated().map { index, value in
                let path = "dh_parameters[\(index)]"
                guard let row = value.documentValue else { throw PluginError.invalidArgument("attribute \(path) must be an object") }
                return DHJoint(
                    a: try nested(path) { try row.double("a_mm") } / 1000, d: try nested(path) { try row.double("d_mm") } / 1000,
                    alpha: try nested(path) { try row.double("alpha_deg") } * .pi / 180,
                    thetaOffset: try nested(path) { try row.double("theta_offset_deg", default: 0) } * .pi / 180)
            })
        }
        let name = try attributes.string("kinematics", default: "ur5e")
        guard let chain = DHChain.named[name] else {
            throw PluginError.invalidArgument(
                "attribute kinematics must be one of \(DHChain.named.keys.sorted().joined(separator: ", ")), got \"\(name)\" (or give dh_parameters)")
        }
        return chain
    }

    static func source(_ value: BSON, path: String) throws -> Source {
        guard let joint = value.documentValue else { throw PluginError.invalidArgument("attribute \(path) must be an object") }
        switch try nested(path, { try joint.string("source") }) {
        case "ads1115":
            let channel = try nested(path) { try joint.int("channel") }
            guard (0...3).contains(channel) else { throw PluginError.invalidArgument("attribute \(path).channel must be 0…3") }
            let fullScale = try nested(path) { try joint.double("full_scale_volts", default: 4.096) }
            guard ADS1115.fullScales.contains(fullScale) else {
                throw PluginError.invalidArgument("attribute \(path).full_scale_volts must be one of \(ADS1115.fullScales.map { "\($0)" }.joined(separator: ", "))")
            }
            return .adc(
                address: try nested(path) { try I2CAddress(attributes: joint, defaultAddress: 0x48) }, channel: channel,
                fullScale: fullScale, degreesPerVolt: try nested(path) { try joint.double("degrees_per_volt") },
                voltsAtZero: try nested(path) { try joint.double("volts_at_zero", default: 0) })
        case "file":
            let file = try nested(path) { try joint.string("path") }
            guard file.hasPrefix("/") else { throw PluginError.invalidArgument("attribute \(path).path must be an absolute path") }
            return .file(
                path: file, degreesPerUnit: try nested(path) { try joint.double("degrees_per_unit", default: 1) },
                offset: try nested(path) { try joint.double("offset_deg", default: 0) })
        case let other:
            throw PluginError.invalidArgument("attribute \(path).source must be \"ads1115\" or \"file\", got \"\(other)\"")
        }
    }

    public func jointPositions() throws -> [Double] { try sources.map(angle) }

    public func endPosition() throws -> Pose { chain.pose(degrees: try jointPositions()) }

    private func angle(_ source: Source) throws -> Double {
        switch source {
        case let .adc(address, channel, fullScale, degreesPerVolt, voltsAtZero):
            let key = "\(address.bus)@\(address.address)/\(fullScale)"
            let adc = try adcs[key] ?? ADS1115(device: address.open(io), fullScaleVolts: fullScale)
            adcs[key] = adc
            return (adc.volts(raw: try adc.readRaw(channel: channel)) - voltsAtZero) * degreesPerVolt
        case let .file(path, degreesPerUnit, offset):
            return try readNumber(path) * degreesPerUnit + offset
        }
    }

    /// One number from a sysfs-style attribute file, read fresh each time (sysfs values are
    /// regenerated per open).
    private func readNumber(_ path: String) throws -> Double {
        let file = try deviceCall { try DeviceFile(io: io, path: path, flags: O_RDONLY) }
        defer { file.close() }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = try buffer.withUnsafeMutableBytes { raw in try deviceCall { try file.read(into: raw) } }
        let text = String(decoding: buffer.prefix(count), as: UTF8.self).trimmingWhitespace
        guard let number = Double(text) else {
            throw PluginError.retryLater("\(path) holds \"\(text)\", not a number")
        }
        return number
    }

    public func close() {
        adcs.values.forEach { $0.close() }
        adcs = [:]
    }
}

extension String {
    var trimmingWhitespace: String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let end = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[start...end])
    }
}
