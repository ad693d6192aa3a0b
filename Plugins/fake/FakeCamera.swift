import FerryBSON
import FerrySDK

/// A camera whose pictures are real, decodable files of a moving test scene (``TestScene``).
///
/// Attributes: width (320), height (240), each 8–4096; mime_type ("image/png" or "image/jpeg",
/// the default for ReadImage); jpeg_quality (85, 1–100).
/// ReadImage: one colour image in the `mime_type` parameter's type (or the default);
/// GetImages: the colour image plus a 16-bit greyscale PNG depth map in millimetres;
/// NextPointCloud: the depth map as an ASCII PCD v0.7 point cloud ("pointcloud/pcd").
final class FakeCamera: Camera, EchoesCommands {
    static let attributes: Set<String> = ["width", "height", "mime_type", "jpeg_quality"]
    static let supportedTypes = ["image/png", "image/jpeg"]
    /// At most this many points per cloud: a 320×240 camera gives one point per 4×4 pixels.
    static let maxPoints = 5_000

    let clock: FakeClock
    let scene: TestScene
    let defaultType: String
    let quality: Int

    init(config: ComponentConfig, clock: @escaping FakeClock) throws {
        let attributes = Attributes(config, model: "fake camera")
        let width = try attributes.integer("width", default: 320, in: 8...4096)
        let height = try attributes.integer("height", default: 240, in: 8...4096)
        defaultType = try attributes.choice("mime_type", default: "image/png", oneOf: Self.supportedTypes)
        quality = try attributes.integer("jpeg_quality", default: 85, in: 1...100)
        attributes.warnAboutUnknown(known: Self.attributes)
        scene = TestScene(width: width, height: height)
        self.clock = clock
    }

    func image(mimeType: String?) throws -> BinaryPayload {
        // Viam clients append "+lazy" to ask for deferred decoding; the encoding is the same.
        let requested = mimeType.map { $0.hasSuffix("+lazy") ? String($0.dropLast(5)) : $0 } ?? ""
        let type = requested.isEmpty ? defaultType : requested
        guard Self.supportedTypes.contains(type) else {
            throw PluginError.invalidArgument(
                "fake camera cannot produce mime_type \"\(type)\"; it supports \(Self.supportedTypes.joined(separator: ", "))")
        }
        return encode(scene.color(at: clock()), as: type)
    }

    func images() throws -> [BinaryPayload] {
        let t = clock()
        let depth = PNGEncoder.gray16(scene.depth(at: t), width: scene.width, height: scene.height)
        return [encode(scene.color(at: t), as: defaultType), BinaryPayload(bytes: depth, mimeType: "image/png")]
    }

    func pointCloud() throws -> BinaryPayload {
        let pixels = scene.width * scene.height
        var step = 1
        while pixels / (step * step) > Self.maxPoints { step += 1 }
        return BinaryPayload(bytes: PCDWriter.ascii(scene.pointCloud(at: clock(), step: step)), mimeType: "pointcloud/pcd")
    }

    private func encode(_ rgb: [UInt8], as type: String) -> BinaryPayload {
        let bytes =
            type == "image/jpeg"
            ? JPEGEncoder.rgb(rgb, width: scene.width, height: scene.height, quality: quality)
            : PNGEncoder.rgb(rgb, width: scene.width, height: scene.height)
        return BinaryPayload(bytes: bytes, mimeType: type)
    }
}
