import FerryBSON

/// Viam's `retention_policy` of a capture method: how long (`days`, UTC days) and how much
/// (`binary_limit_gb`, `tabular_limit_gb`; a gigabyte is 10⁹ bytes) of its data the data server
/// keeps. It travels with the method's uploads (`headerValue`) and the server enforces it.
package struct RetentionPolicyConfig: Sendable, Equatable {
    package var days: Int?
    package var binaryLimitGB: Double?
    package var tabularLimitGB: Double?

    package init(days: Int? = nil, binaryLimitGB: Double? = nil, tabularLimitGB: Double? = nil) {
        self.days = days
        self.binaryLimitGB = binaryLimitGB
        self.tabularLimitGB = tabularLimitGB
    }

    /// The gRPC request-metadata entry an upload carries it in. A Viam server ignores it.
    package static let header = "ferry-retention-policy"

    /// The entry's value: compact JSON with Viam's keys, e.g. `{"days":5}`; `{}` when the method
    /// has no policy (the server then drops the one it had).
    package var headerValue: String {
        var document = BSONDocument()
        if let days { document["days"] = .int64(Int64(days)) }
        if let binaryLimitGB { document["binary_limit_gb"] = .double(binaryLimitGB) }
        if let tabularLimitGB { document["tabular_limit_gb"] = .double(tabularLimitGB) }
        return document.extendedJSON(.relaxed)
    }

    static let keys: Set<String> = ["days", "binary_limit_gb", "tabular_limit_gb"]
}

/// A capture method as its capture files name it: the component (`<remote>:<name>` for a remote
/// part's resource) and the method.
package struct CapturedMethod: Sendable, Hashable {
    package var component: String
    package var method: String

    package init(component: String, method: String) {
        self.component = component
        self.method = method
    }
}

extension ConfigParser {
    /// `retention_policy` at `path` (an object of `days`, `binary_limit_gb`, `tabular_limit_gb`),
    /// nil when absent or faulty.
    static func parseRetentionPolicy(_ object: BSONDocument, at path: String, walker: JSONWalker) -> RetentionPolicyConfig? {
        guard let policy = walker.object(object, "retention_policy", at: path) else { return nil }
        let policyPath = walker.join(path, "retention_policy")
        let faults = walker.faults.count
        walker.onlyKnownKeys(policy, RetentionPolicyConfig.keys, at: policyPath)
        var result = RetentionPolicyConfig()
        if let days = walker.integer(policy, "days", at: policyPath, minimum: 1) {
            guard days <= 1_000_000 else {
                walker.fault("\(policyPath).days", "at most 1000000 days, got \(days)")
                return nil
            }
            result.days = Int(days)
        }
        let gigabytes: (Double) -> String? = { $0 <= 0 || $0 > 1e9 ? "gigabytes (10⁹ bytes) more than 0 (and at most 10⁹), got \($0)" : nil }
        result.binaryLimitGB = walker.number(policy, "binary_limit_gb", at: policyPath, gigabytes)
        result.tabularLimitGB = walker.number(policy, "tabular_limit_gb", at: policyPath, gigabytes)
        if policy.keys.isEmpty {
            walker.fault(policyPath, #"is empty; give days, binary_limit_gb or tabular_limit_gb, e.g. {"days": 30}"#)
        }
        return walker.faults.count == faults ? result : nil
    }

    /// Every captured method's policy (an empty one where it has none), by the names its capture
    /// files carry; a method captured twice (different additional_params) must have one policy.
    static func retentionPolicies(components: [ComponentEntry], remotes: [RemoteEntry], walker: JSONWalker) -> [CapturedMethod: RetentionPolicyConfig] {
        var policies: [CapturedMethod: (RetentionPolicyConfig, String)] = [:]
        func add(_ key: CapturedMethod, _ policy: RetentionPolicyConfig?, path: String) {
            let policy = policy ?? RetentionPolicyConfig()
            if let (first, firstPath) = policies[key], first != policy {
                walker.fault(
                    "\(path).retention_policy",
                    "differs from the retention policy of \(key.method) at \(firstPath); the data server keeps one policy per component and method")
                return
            }
            policies[key] = policies[key] ?? (policy, path)
        }
        for component in components {
            for method in component.captureMethods {
                add(CapturedMethod(component: component.name, method: method.method), method.retentionPolicy, path: method.path)
            }
        }
        for remote in remotes {
            for method in remote.captureMethods {
                add(CapturedMethod(component: "\(remote.name):\(method.resource)", method: method.method), method.retentionPolicy, path: method.path)
            }
        }
        return policies.mapValues(\.0)
    }
}
