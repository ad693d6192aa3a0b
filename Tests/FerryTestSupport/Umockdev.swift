import Foundation

/// umockdev, through which the real `ferry` binary talks to scripted devices
/// (Tests/Fixtures/umockdev). It is required, not optional: when it is missing a test fails and
/// says what to install.
public enum Umockdev {
    public static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/umockdev")
    public static let wrapper = "/usr/bin/umockdev-wrapper"
    public static let python = "/usr/bin/python3"

    /// nil when umockdev and its Python bindings are usable; otherwise what to install.
    public static func missing() -> String? {
        guard FileManager.default.isExecutableFile(atPath: wrapper) else {
            return "umockdev is not installed (\(wrapper) missing): apt-get install -y umockdev gir1.2-umockdev-1.0 python3-gi"
        }
        let probe: Int32
        do {
            probe = try FerryProcess.run(
                ["-c", "import gi; gi.require_version('UMockdev', '1.0'); from gi.repository import UMockdev"], executable: python
            ).status
        } catch { return "cannot run \(python): \(error)" }
        return probe == 0 ? nil : "umockdev's GObject bindings are missing: apt-get install -y gir1.2-umockdev-1.0 python3-gi"
    }
}
