/// Writes PCL's point cloud format, version 0.7, ASCII, with x y z in metres and rgb packed as
/// 0x00RRGGBB in an integer field, the way Viam writes its own PCD files.
enum PCDWriter {
    struct Point: Sendable, Equatable {
        var x, y, z: Double
        var rgb: UInt32
    }

    static func ascii(_ points: [Point]) -> [UInt8] {
        var text = """
            # .PCD v0.7 - Point Cloud Data file format
            VERSION 0.7
            FIELDS x y z rgb
            SIZE 4 4 4 4
            TYPE F F F I
            COUNT 1 1 1 1
            WIDTH \(points.count)
            HEIGHT 1
            VIEWPOINT 0 0 0 1 0 0 0
            POINTS \(points.count)
            DATA ascii

            """
        text.reserveCapacity(text.utf8.count + points.count * 32)
        for point in points {
            text += "\(fixed(point.x)) \(fixed(point.y)) \(fixed(point.z)) \(point.rgb)\n"
        }
        return Array(text.utf8)
    }

    /// A fixed-point rendering with four decimals (0.1 mm), never exponent notation.
    static func fixed(_ value: Double) -> String {
        let scaled = Int64((value * 10_000).rounded())
        let magnitude = scaled.magnitude
        let fraction = String(magnitude % 10_000)
        return (scaled < 0 ? "-" : "") + "\(magnitude / 10_000)." + String(repeating: "0", count: 4 - fraction.count) + fraction
    }
}
