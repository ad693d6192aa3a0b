/// Ferry's release version: `ferry --version`, the machine API's GetVersion, release bundle and
/// Debian package names. Raised by hand at each release.
package enum FerryVersion {
    package static let current = "0.1.0"
}
