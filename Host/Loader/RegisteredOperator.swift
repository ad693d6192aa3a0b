import CFerryPlugin

/// An MQL operator a plugin registered; the MQL engine bridges it into its operator registry.
public final class RegisteredOperator: @unchecked Sendable {
    // @unchecked: `cOperator` holds C function pointers and the plugin's context, valid for the
    // life of the process (libraries are never unloaded); nothing mutates after registration.
    public enum Kind: String, Sendable { case expression, accumulator, stage }
    public let name: String
    public let kind: Kind
    public let pluginPath: String
    public let cOperator: ferry_operator

    init(cOperator: ferry_operator, name: String, kind: Kind, pluginPath: String) {
        self.cOperator = cOperator
        self.name = name
        self.kind = kind
        self.pluginPath = pluginPath
    }
}
