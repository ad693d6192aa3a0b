import FerryBSON

extension ConfigParser {
    static let remoteKeys: Set<String> = ["name", "address", "auth", "insecure", "service_configs", "ferry"]

    /// Viam's `remotes[]`: name, address, auth with an API key, insecure, and service_configs whose
    /// capture methods name the remote resource (`"name": "rdk:component:board/my-esp32"`).
    static func parseRemotes(_ root: BSONDocument, walker: JSONWalker, baseDirectory: String) -> [RemoteEntry] {
        walker.objects(root, "remotes", at: "").compactMap { object, path in
            walker.noteIgnoredKeys(object, known: remoteKeys, inert: InertKeys.remote, at: path)
            let name = walker.string(object, "name", at: path, required: true)
            if let name, name.isEmpty || !name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) {
                walker.fault("\(path).name", "\"\(name)\" is not a valid remote name; use letters, digits, - and _")
            }
            let address = walker.string(object, "address", at: path, required: true)
            let insecure = walker.bool(object, "insecure", at: path) ?? false
            let endpoint = address.flatMap { parseAddress($0, insecure: insecure, at: "\(path).address", walker: walker) }
            var apiKeyID: String?
            var apiKey: String?
            if let auth = walker.object(object, "auth", at: path) {
                let authPath = "\(path).auth"
                walker.noteIgnoredKeys(auth, known: ["credentials", "entity"], inert: [:], at: authPath)
                apiKeyID = walker.string(auth, "entity", at: authPath)
                if let credentials = walker.object(auth, "credentials", at: authPath) {
                    let credentialsPath = "\(authPath).credentials"
                    let type = walker.string(credentials, "type", at: credentialsPath, required: true)
                    if let type, type != "api-key" {
                        walker.fault("\(credentialsPath).type", "\"\(type)\" credentials are not supported; use an API key: {\"type\": \"api-key\", \"payload\": \"<key>\"} with \"entity\": \"<key id>\"")
                    }
                    apiKey = walker.string(credentials, "payload", at: credentialsPath, required: true)
                    if apiKeyID == nil { walker.fault("\(authPath).entity", "is required with an API key: the key's id") }
                }
            }
            var caCert: String?
            if let ferry = walker.object(object, "ferry", at: path) {
                walker.onlyKnownKeys(ferry, ["ca_cert"], at: "\(path).ferry")
                caCert = walker.string(ferry, "ca_cert", at: "\(path).ferry").map { resolve($0, against: baseDirectory) }
            }
            let methods = parseCaptureConfigs(object, at: path, walker: walker).compactMap { remoteMethod($0, walker: walker) }
            var collectors: [String: String] = [:]
            for method in methods {
                let key = "\(method.api)/\(method.resource) \(method.method) \(method.additionalParams.extendedJSON(.canonical))"
                if let first = collectors[key] {
                    walker.fault(method.path, "\(method.method) of \(method.api)/\(method.resource) with the same additional_params is already captured at \(first)")
                }
                collectors[key] = method.path
            }
            guard let name, let endpoint else { return nil }
            return RemoteEntry(
                name: name, host: endpoint.host, port: endpoint.port, apiKeyID: apiKeyID, apiKey: apiKey, insecure: insecure,
                caCert: caCert, captureMethods: methods, path: path)
        }
    }

    /// `HOST:PORT`, or `HOST` alone: port 443, or 80 when insecure (as Viam's SDKs dial).
    static func parseAddress(_ address: String, insecure: Bool, at path: String, walker: JSONWalker) -> (host: String, port: Int)? {
        let parts = address.split(separator: ":", omittingEmptySubsequences: false)
        switch parts.count {
        case 1 where !address.isEmpty:
            return (address, insecure ? 80 : 443)
        case 2 where !parts[0].isEmpty:
            guard let port = Int(parts[1]), (1...65_535).contains(port) else {
                walker.fault(path, "\"\(address)\": the port must be a number from 1 to 65535")
                return nil
            }
            return (String(parts[0]), port)
        default:
            walker.fault(path, "\"\(address)\" is not HOST:PORT (or HOST alone for port 443)")
            return nil
        }
    }

    /// A remote's capture method must say which resource: `"name": "<api>/<resource name>"`.
    static func remoteMethod(_ entry: CaptureMethodEntry, walker: JSONWalker) -> RemoteCaptureMethod? {
        let example = #"e.g. "rdk:component:board/my-esp32""#
        guard let name = entry.name else {
            walker.fault("\(entry.path).name", "is required for a remote's capture method: the remote resource, \(example)")
            return nil
        }
        let parts = name.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].split(separator: ":", omittingEmptySubsequences: false).count == 3, !parts[1].isEmpty else {
            walker.fault("\(entry.path).name", "\"\(name)\" is not <API triplet>/<resource name>, \(example)")
            return nil
        }
        return RemoteCaptureMethod(
            api: String(parts[0]), resource: String(parts[1]), method: entry.method, frequencyHz: entry.frequencyHz,
            additionalParams: entry.additionalParams, disabled: entry.disabled, retentionPolicy: entry.retentionPolicy, path: entry.path)
    }
}
