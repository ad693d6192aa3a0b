/// Why a registry operation failed. `description` is the one line a user sees: what was wrong,
/// where (registry, module, file, JSON path) and what to do.
public struct RegistryError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The registry could not be reached (network, missing directory): a cached version may run.
        case unreachable
        /// The registry answered but has no such file (HTTP 404, missing file).
        case notFound
        /// A signature, checksum, expiry, rollback or archive check failed: nothing from it is used.
        case refused
        /// No version satisfies the pin (or it was yanked, or has no archive for this platform).
        case unresolvable
        /// Bad input: a malformed file, key, option or local state.
        case invalid
        /// Installing failed locally (disk, first_run, the plugin does not load).
        case install
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
