/// A date-library failure, carrying MongoDB's error code for the same failure so the engine can
/// report it the way a MongoDB server would. `message` is meant for the user as is.
public struct MQLDateError: Error, Sendable, Equatable, CustomStringConvertible {
    /// MongoDB's error code (e.g. 40485 unknown time zone, 241 ConversionFailure, 18536 bad format).
    public let code: Int
    public let message: String

    public init(code: Int, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// MongoDB's `ConversionFailure`, which every `$dateFromString` parse failure uses.
    static let conversionFailureCode = 241

    static func conversionFailure(_ message: String) -> MQLDateError {
        MQLDateError(code: conversionFailureCode, message: message)
    }
}
