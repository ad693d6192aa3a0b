import FerryBSON
import FerryStore
import GRPCCore
import Synchronization

/// A capture method's retention policy, carried by a Ferry host's uploads in the request-metadata
/// entry `ferry-retention-policy` (beside `ferry-file-id`, and like it ignored by a Viam server):
/// compact JSON with Viam's keys, `{"days": 5, "binary_limit_gb": 1, "tabular_limit_gb": 0.5}`,
/// `{}` for none. Uploads without it (Viam's SDKs) leave the resource's policy as it is.
enum RetentionHeader {
    static let name = "ferry-retention-policy"
    static let bytesPerGB = 1e9

    /// The policy in `metadata`, nil when the upload carries none; an empty policy when it says `{}`.
    static func policy(from metadata: Metadata?) throws(RPCError) -> RetentionPolicy? {
        guard let metadata, let text = metadata[stringValues: name].first(where: { _ in true }) else { return nil }
        let example = #"e.g. {"days": 5, "binary_limit_gb": 1, "tabular_limit_gb": 0.5}, or {} for none"#
        guard let document = try? BSONDocument(extendedJSON: text) else {
            throw RPCError(code: .invalidArgument, message: "\(name) \"\(text)\" is not a JSON object, \(example)")
        }
        var policy = RetentionPolicy()
        for element in document {
            let (key, value) = (element.key, element.value)
            switch key {
            case "days":
                guard let days = value.int64Value, (1...1_000_000).contains(days) else {
                    throw RPCError(code: .invalidArgument, message: "\(name): days must be a whole number from 1 to 1000000, got \(value.extendedJSON(.relaxed))")
                }
                policy.days = Int(days)
            case "binary_limit_gb", "tabular_limit_gb":
                guard let gigabytes = value.doubleValue, gigabytes > 0, gigabytes <= 1e9 else {
                    throw RPCError(code: .invalidArgument, message: "\(name): \(key) must be gigabytes more than 0 (and at most 10⁹), got \(value.extendedJSON(.relaxed))")
                }
                let bytes = Int64((gigabytes * bytesPerGB).rounded())
                if key == "binary_limit_gb" { policy.binaryLimitBytes = bytes } else { policy.tabularLimitBytes = bytes }
            default:
                throw RPCError(code: .invalidArgument, message: "\(name): unknown key \"\(key)\", \(example)")
            }
        }
        return policy
    }
}

/// The policies this server last stored per resource, so that an upload carrying the same policy
/// as the previous one costs no write. Another replica storing a different policy in between is
/// not seen here; the next change of the host's config is.
final class RetentionPolicyCache: Sendable {
    private let stored = Mutex<[RetentionResource: RetentionPolicy]>([:])

    /// Stores the upload's policy for its resource unless it is the one stored last.
    func record(_ policy: RetentionPolicy, for resource: RetentionResource, in store: any RetentionStore) async throws {
        if stored.withLock({ $0[resource] }) == policy { return }
        try await store.setRetentionPolicy(policy, for: resource)
        stored.withLock { $0[resource] = policy }
    }
}
