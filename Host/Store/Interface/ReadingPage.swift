import FerryBSON

/// Where a page of readings ended: the `(time_received, id)` of its last row. The next page
/// starts strictly after it, so paging is stable while new rows arrive.
public struct ReadingCursor: Sendable, Hashable {
    public var timeReceived: Int64
    public var id: Int64

    public init(timeReceived: Int64, id: Int64) {
        self.timeReceived = timeReceived
        self.id = id
    }

    /// An opaque page token for a client: `"<time_received>.<id>"`.
    public var token: String { "\(timeReceived).\(id)" }

    public init?(token: String) {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let time = Int64(parts[0]), let id = Int64(parts[1]) else { return nil }
        self.init(timeReceived: time, id: id)
    }
}

public struct ReadingPage: Sendable, Hashable {
    public var documents: [BSONDocument]
    /// Where to continue, or nil when this was the last page.
    public var next: ReadingCursor?

    public init(documents: [BSONDocument], next: ReadingCursor?) {
        self.documents = documents
        self.next = next
    }
}
