import FerryMongoWire
import FerryQuery

/// The server's open cursors, shared by every connection: a driver's getMore may arrive on
/// another pooled connection than the find that opened the cursor. A cursor belongs to one
/// organisation and namespace; one left idle past the timeout is closed, as mongod's
/// `cursorTimeoutMillis` does. Time comes from an injected clock, so tests drive expiry.
actor CursorRegistry {
    struct Cursor {
        let id: Int64
        let organizationID: String
        /// `database.collection`, which getMore must name.
        let namespace: String
        let stream: QueryResultStream
        /// Encoded results pulled but not yet sent (a batch stopped at 16 MiB).
        var pending: [[UInt8]] = []
        var lastUsed: Duration
    }

    let idleTimeout: Duration
    let maximumOpen: Int
    let now: @Sendable () -> Duration
    private var open: [Int64: Cursor] = [:]
    /// Cursors a getMore is using right now; another getMore on one of them is refused.
    private var busy: Set<Int64> = []

    init(idleTimeout: Duration, maximumOpen: Int = 10_000, now: @escaping @Sendable () -> Duration) {
        self.idleTimeout = idleTimeout
        self.maximumOpen = maximumOpen
        self.now = now
    }

    var count: Int { open.count }

    /// Keeps `stream` open under a new id (never 0, which means "no more results").
    func register(organizationID: String, namespace: String, stream: QueryResultStream, pending: [[UInt8]]) throws(MongoCommandError)
        -> Int64
    {
        guard open.count < maximumOpen else {
            stream.close()
            throw .badValue("the server has \(maximumOpen) open cursors; exhaust or kill some (killCursors) and try again")
        }
        var id: Int64
        repeat { id = Int64.random(in: 1...Int64.max) } while open[id] != nil
        open[id] = Cursor(id: id, organizationID: organizationID, namespace: namespace, stream: stream, pending: pending, lastUsed: now())
        return id
    }

    /// Takes the cursor for one getMore. Another organisation's cursor is reported as not found.
    func checkOut(id: Int64, organizationID: String, namespace: String) throws(MongoCommandError) -> Cursor {
        guard let cursor = open[id], cursor.organizationID == organizationID else { throw .cursorNotFound(id) }
        guard cursor.namespace == namespace else {
            throw .unauthorized("Requested getMore on namespace '\(namespace)', but cursor \(id) belongs to '\(cursor.namespace)'")
        }
        guard !busy.contains(id) else { throw MongoCommandError(code: 292, codeName: "CursorInUse", "cursor \(id) is in use by another getMore") }
        busy.insert(id)
        return cursor
    }

    /// Returns a cursor after a getMore: kept (with what it still holds) or, when exhausted, closed.
    func checkIn(_ cursor: Cursor, exhausted: Bool) {
        busy.remove(cursor.id)
        guard open[cursor.id] != nil else { return }  // killed meanwhile
        if exhausted {
            open[cursor.id] = nil
            cursor.stream.close()
        } else {
            var kept = cursor
            kept.lastUsed = now()
            open[cursor.id] = kept
        }
    }

    /// killCursors: which ids were killed and which were not found (or another organisation's).
    func kill(_ ids: [Int64], organizationID: String) -> (killed: [Int64], notFound: [Int64]) {
        var killed: [Int64] = []
        var notFound: [Int64] = []
        for id in ids {
            if let cursor = open[id], cursor.organizationID == organizationID {
                open[id] = nil
                cursor.stream.close()
                killed.append(id)
            } else {
                notFound.append(id)
            }
        }
        return (killed, notFound)
    }

    /// Closes every cursor idle for longer than the timeout; returns how many.
    @discardableResult
    func expireIdle() -> Int {
        let cutoff = now() - idleTimeout
        let stale = open.values.filter { $0.lastUsed < cutoff && !busy.contains($0.id) }
        for cursor in stale {
            open[cursor.id] = nil
            cursor.stream.close()
        }
        return stale.count
    }

    func closeAll() {
        for cursor in open.values { cursor.stream.close() }
        open = [:]
    }
}
