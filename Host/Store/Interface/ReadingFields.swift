import FerryBSON

/// A `BSONFieldSet` over reading documents, resolved once per query: for each of the document's
/// twelve fields (in the order every backend builds them), nil when it is not needed, else what
/// of it is (all of it, or some paths of `data`/`additional_parameters`).
public struct ReadingFields: Sendable {
    /// The fields of a whole reading document, in order.
    public static let names: [String] =
        ReadingFilter.Column.allCases.map(\.rawValue) + ["time_requested", "time_received", "tags", "additional_parameters", "data"]

    public let fieldSet: BSONFieldSet
    /// Indexed like `names`.
    public let wanted: [BSONFieldSet?]
    /// How many fields each document has.
    public let count: Int

    public init(_ set: BSONFieldSet) {
        fieldSet = set
        wanted = Self.names.map { set.child($0) }
        count = wanted.count { $0 != nil }
    }

    public var isEverything: Bool { fieldSet.isEverything }

    /// Whether the field at `index` of `names` is read at all.
    public func needs(_ index: Int) -> Bool { wanted[index] != nil }
}
