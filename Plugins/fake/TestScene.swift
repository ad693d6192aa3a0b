#if canImport(Glibc)
    import Glibc
#endif

/// What the fake camera sees at time t: colour bars along the top, a drifting colour gradient on a
/// wall, and an orange ball flying in front of it. The colour image, the depth map and the point
/// cloud are three views of the same geometry (one pinhole camera), so they agree with each other.
struct TestScene: Sendable {
    let width: Int
    let height: Int
    /// Focal length in pixels (a ~58° horizontal field of view).
    var focal: Double { Double(width) * 0.9 }
    static let ballRadiusMM = 150.0
    static let bars: [(UInt8, UInt8, UInt8)] = [
        (235, 235, 235), (235, 235, 16), (16, 235, 235), (16, 235, 16), (235, 16, 235), (235, 16, 16), (16, 16, 235),
        (16, 16, 16),
    ]

    struct Ball {
        var u, v: Double  // centre, pixels
        var radius: Double  // pixels
        var depth: Double  // centre distance, mm
    }

    func ball(at t: Double) -> Ball {
        let depth = 1300 + 400 * Signal.sine(t, period: 9)
        return Ball(
            u: Double(width) * (0.5 + 0.3 * Signal.sine(t, period: 7)),
            v: Double(height) * (0.56 + 0.25 * Signal.sine(t, period: 5, phase: 1)),
            radius: Self.ballRadiusMM * focal / depth, depth: depth)
    }

    var barRows: Int { height / 8 }

    /// The wall leans toward the camera at the bottom of the image, as a floor-to-wall view would.
    func wallDepth(row: Int) -> Double { 2500 - 700 * (Double(row) + 0.5) / Double(height) }

    /// The z component of the ball's surface normal at this pixel: how far the surface bulges toward
    /// the camera, as a fraction of the radius; 0 outside the ball.
    func ballNormalZ(_ ball: Ball, _ column: Int, _ row: Int) -> Double {
        let du = (Double(column) + 0.5 - ball.u) / ball.radius, dv = (Double(row) + 0.5 - ball.v) / ball.radius
        let r2 = du * du + dv * dv
        return r2 < 1 ? (1 - r2).squareRoot() : 0
    }

    /// width × height × 3 bytes of RGB.
    func color(at t: Double) -> [UInt8] {
        let ball = ball(at: t)
        // The gradient separates into per-column, per-row and per-diagonal waves: three small tables.
        let red = (0..<width).map { UInt8(128 + 127 * Signal.sine(Double($0) / Double(width) + t / 8, period: 1)) }
        let green = (0..<height).map { UInt8(128 + 127 * Signal.sine(Double($0) / Double(height) + t / 11, period: 1)) }
        let blue = (0..<(width + height)).map {
            UInt8(128 + 127 * Signal.sine(Double($0) / Double(width + height) - t / 5, period: 1))
        }
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for row in 0..<height {
            for column in 0..<width {
                let offset = (row * width + column) * 3
                let rgb: (UInt8, UInt8, UInt8)
                let nz = row < barRows ? 0 : ballNormalZ(ball, column, row)
                if row < barRows {
                    rgb = Self.bars[column * Self.bars.count / width]
                } else if nz > 0 {
                    let light = 0.25 + 0.75 * nz  // lit from the camera: brightest facing it
                    rgb = (UInt8(255 * light), UInt8(140 * light), UInt8(30 * light))
                } else {
                    rgb = (red[column], green[row], blue[column + row])
                }
                (pixels[offset], pixels[offset + 1], pixels[offset + 2]) = rgb
            }
        }
        return pixels
    }

    /// width × height depths in millimetres along the optical axis.
    func depth(at t: Double) -> [UInt16] {
        let ball = ball(at: t)
        var depths = [UInt16](repeating: 0, count: width * height)
        for row in 0..<height {
            let wall = wallDepth(row: row)
            for column in 0..<width {
                let nz = row < barRows ? 0 : ballNormalZ(ball, column, row)
                let depth = nz > 0 ? ball.depth - Self.ballRadiusMM * nz : wall
                depths[row * width + column] = UInt16(depth.rounded())
            }
        }
        return depths
    }

    /// The depth map back-projected through the pinhole, one point every `step` pixels each way,
    /// coloured from the colour image. Camera frame: x right, y down, z forward; metres.
    func pointCloud(at t: Double, step: Int) -> [PCDWriter.Point] {
        let (color, depth) = (color(at: t), depth(at: t))
        let (cu, cv) = (Double(width) / 2, Double(height) / 2)
        var points: [PCDWriter.Point] = []
        points.reserveCapacity((width / step + 1) * (height / step + 1))
        for row in stride(from: 0, to: height, by: step) {
            for column in stride(from: 0, to: width, by: step) {
                let z = Double(depth[row * width + column]) / 1000
                let offset = (row * width + column) * 3
                let rgb = UInt32(color[offset]) << 16 | UInt32(color[offset + 1]) << 8 | UInt32(color[offset + 2])
                points.append(
                    PCDWriter.Point(
                        x: (Double(column) + 0.5 - cu) * z / focal, y: (Double(row) + 0.5 - cv) * z / focal, z: z, rgb: rgb))
            }
        }
        return points
    }
}
