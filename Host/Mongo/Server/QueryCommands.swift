import FerryBSON
import FerryMQL
import FerryMongoWire
import FerryQuery
import FerryStore

extension MongoCommands {
    /// find: the filter, sort, skip, limit and projection become an aggregation
    /// (`$match`, `$sort`, `$skip`, `$limit`, `$project`), so it gets the same pushdown as aggregate.
    func find(_ command: BSONDocument, database: String, session: MongoSession) async throws -> CommandReply {
        let user = session.user!
        let arguments = CommandArguments(command)
        let collection = try collectionName(arguments)
        if command["collation"] != nil { throw MongoCommandError.badValue("find: collation is not supported") }
        var parts: [(part: String, stage: BSONDocument)] = []
        if let filter = try arguments.document("filter"), !filter.isEmpty { parts.append(("filter", ["$match": .document(filter)])) }
        if let sort = try arguments.document("sort"), !sort.isEmpty { parts.append(("sort", ["$sort": .document(sort)])) }
        if let skip = try arguments.nonNegative("skip"), skip > 0 { parts.append(("skip", ["$skip": .int64(Int64(skip))])) }
        var singleBatch = try arguments.bool("singleBatch") ?? false
        if let limit = try arguments.integer("limit"), limit != 0 {
            // A negative limit is the legacy "one batch of at most |limit|".
            if limit < 0 { singleBatch = true }
            parts.append(("limit", ["$limit": .int64(limit == .min ? .max : abs(limit))]))
        }
        if let projection = try arguments.document("projection"), !projection.isEmpty {
            parts.append(("projection", ["$project": .document(projection)]))
        }
        let query: StoreQuery
        do {
            query = try StoreQuery(stages: parts.map(\.stage), operators: operators)
        } catch let error as MQLError {
            // Name the find option, not the stage number of an aggregation the client never wrote.
            let part = error.stageIndex.map { parts[$0].part } ?? "query"
            throw MongoCommandError.badValue("find \(part): \(error.operatorName.map { "\($0): " } ?? "")\(error.message)")
        }
        let namespace = "\(database).\(collection)"
        let stream = try await open(query, database: database, collection: collection, user: user)
        return try await firstBatch(
            stream, namespace: namespace, organizationID: user.organizationID, batchSize: try arguments.nonNegative("batchSize"),
            singleBatch: singleBatch)
    }

    /// aggregate on a collection, or on the database (`aggregate: 1`) with a leading `$sql` stage.
    func aggregate(_ command: BSONDocument, database: String, session: MongoSession) async throws -> CommandReply {
        let user = session.user!
        let arguments = CommandArguments(command)
        guard let stages = try arguments.documents("pipeline") else {
            throw MongoCommandError.failedToParse("aggregate: the pipeline field is required (an array of stage objects)")
        }
        if try arguments.bool("explain") == true { throw MongoCommandError.badValue("aggregate: explain is not supported") }
        guard let cursorOptions = try arguments.document("cursor") else {
            throw MongoCommandError.failedToParse("aggregate: the 'cursor' option is required, except for aggregate with the explain argument")
        }
        let batchSize = try CommandArguments(cursorOptions, name: "aggregate cursor").nonNegative("batchSize")
        for (index, stage) in stages.enumerated() {
            if let name = stage.keys.first, name == "$out" || name == "$merge" {
                throw MongoCommandError.unauthorized("aggregate: stage \(index) (\(name)) writes, and Ferry's MongoDB endpoint is read-only")
            }
        }
        let databaseLevel: Bool =
            switch command["aggregate"] {
            case .string?: false
            case let value? where CommandArguments.integer(value) == 1: true
            default: throw MongoCommandError.typeMismatch("aggregate: the collection must be a string, or 1 for a database-level aggregation")
            }
        if let index = stages.firstIndex(where: { $0.keys.first == "$sql" }), !databaseLevel || index != 0 {
            throw MongoCommandError.badValue(
                "aggregate: $sql must be the first stage of a database-level aggregation: db.aggregate([{$sql: {statement: …}}])")
        }
        if databaseLevel {
            guard database == Namespace.database, let sql = stages.first, sql.keys.first == "$sql" else {
                throw MongoCommandError.badValue(
                    "aggregate: a database-level aggregation on \(Namespace.database) must start with $sql: db.aggregate([{$sql: {statement: \"SELECT …\", format: \"jdbc\"}}])")
            }
            let stream = try await sqlStream(sql, rest: Array(stages.dropFirst()), user: user)
            return try await firstBatch(
                stream, namespace: "\(database).$cmd.aggregate", organizationID: user.organizationID, batchSize: batchSize,
                singleBatch: false)
        }
        let collection = try collectionName(arguments)
        let query = try StoreQuery(stages: stages, operators: operators)
        let stream = try await open(query, database: database, collection: collection, user: user)
        return try await firstBatch(
            stream, namespace: "\(database).\(collection)", organizationID: user.organizationID, batchSize: batchSize, singleBatch: false)
    }

    /// `$sql: {statement, format: "jdbc"}`: the statement runs as TabularDataBySQL does (read-only,
    /// the organisation's `readings` only, bounded); later stages run over its rows in the engine.
    func sqlStream(_ stage: BSONDocument, rest: [BSONDocument], user: MongoSession.User) async throws -> QueryResultStream {
        guard case .document(let spec)? = stage["$sql"] else {
            throw MongoCommandError.badValue("$sql takes an object: {statement: \"SELECT …\", format: \"jdbc\"}")
        }
        guard case .string(let statement)? = spec["statement"], !statement.isEmpty else {
            throw MongoCommandError.badValue("$sql needs a statement (a SQL string)")
        }
        if let format = spec["format"], format != .string("jdbc") {
            throw MongoCommandError.badValue("$sql: format must be \"jdbc\"")
        }
        for key in spec.keys where !["statement", "format", "dialect", "formatVersion"].contains(key) {
            throw MongoCommandError.badValue("$sql: unknown option \(key) (statement, format, dialect and formatVersion are known)")
        }
        let engine = try rest.isEmpty ? [] : [MQLPipeline(stages: rest, registry: operators)]
        let rows = try await store.tabularDataBySQL(organizationID: user.organizationID, source: .standard, query: statement)
        return QueryResultStream(documents: rows, then: engine)
    }

    func getMore(_ command: BSONDocument, database: String, session: MongoSession) async throws -> CommandReply {
        let user = session.user!
        let arguments = CommandArguments(command)
        guard let id = arguments.value.flatMap(CommandArguments.integer) else {
            throw MongoCommandError.typeMismatch("getMore: the cursor id must be a long")
        }
        guard let collection = try arguments.string("collection") else {
            throw MongoCommandError.failedToParse("getMore: the collection field is required")
        }
        let batchSize = try arguments.nonNegative("batchSize").flatMap { $0 == 0 ? nil : $0 }
        let namespace = "\(database).\(collection)"
        var cursor = try await cursors.checkOut(id: id, organizationID: user.organizationID, namespace: namespace)
        do {
            let (documents, exhausted) = try await CursorBatch.next(from: cursor.stream, pending: &cursor.pending, count: batchSize)
            await cursors.checkIn(cursor, exhausted: exhausted)
            return .raw(CursorBatch.reply(id: exhausted ? 0 : id, namespace: namespace, batchName: "nextBatch", documents: documents))
        } catch {
            await cursors.checkIn(cursor, exhausted: true)
            throw error
        }
    }

    func killCursors(_ command: BSONDocument, database: String, session: MongoSession) async throws -> BSONDocument {
        let arguments = CommandArguments(command)
        _ = try collectionName(arguments)
        guard case .array(let values)? = command["cursors"] else {
            throw MongoCommandError.failedToParse("killCursors: the cursors field is required (an array of cursor ids)")
        }
        var ids: [Int64] = []
        for value in values {
            guard let id = CommandArguments.integer(value) else { throw MongoCommandError.typeMismatch("killCursors: cursor ids must be longs") }
            ids.append(id)
        }
        let (killed, notFound) = await cursors.kill(ids, organizationID: session.user!.organizationID)
        return [
            "cursorsKilled": .array(killed.map(BSON.int64)), "cursorsNotFound": .array(notFound.map(BSON.int64)),
            "cursorsAlive": [], "cursorsUnknown": [], "ok": 1.0,
        ]
    }

    func count(_ command: BSONDocument, database: String, session: MongoSession) async throws -> BSONDocument {
        let arguments = CommandArguments(command)
        let collection = try collectionName(arguments)
        var stages: [BSONDocument] = []
        if let query = try arguments.document("query"), !query.isEmpty { stages.append(["$match": .document(query)]) }
        if let skip = try arguments.nonNegative("skip"), skip > 0 { stages.append(["$skip": .int64(Int64(skip))]) }
        if let limit = try arguments.integer("limit"), limit != 0 { stages.append(["$limit": .int64(limit == .min ? .max : abs(limit))]) }
        stages.append(["$count": "n"])
        let results = try await collect(stages, database: database, collection: collection, user: session.user!)
        let n = results.first?["n"].flatMap(CommandArguments.integer) ?? 0
        return ["n": n <= Int64(Int32.max) ? .int32(Int32(n)) : .int64(n), "ok": 1.0]
    }

    /// distinct: the values at `key` (an array's elements counted one by one), each once by
    /// MongoDB's equality (1 and 1.0 are one value), in BSON order.
    func distinct(_ command: BSONDocument, database: String, session: MongoSession) async throws -> BSONDocument {
        let arguments = CommandArguments(command)
        let collection = try collectionName(arguments)
        guard let key = try arguments.string("key"), !key.isEmpty, !key.hasPrefix("$") else {
            throw MongoCommandError.failedToParse("distinct: key must be a field path such as \"component_name\" or \"data.readings.x\"")
        }
        var stages: [BSONDocument] = []
        if let query = try arguments.document("query"), !query.isEmpty { stages.append(["$match": .document(query)]) }
        stages += [
            ["$project": ["_id": 0, "v": .string("$" + key)]], ["$unwind": "$v"], ["$group": ["_id": "$v"]], ["$sort": ["_id": 1]],
        ]
        let results = try await collect(stages, database: database, collection: collection, user: session.user!)
        let values = results.map { $0["_id"] ?? .null }
        let reply: BSONDocument = ["values": .array(values), "ok": 1.0]
        guard (try? reply.encodeChecked().count).map({ $0 <= CursorBatch.maximumBytes }) == true else {
            throw MongoCommandError(code: 17217, codeName: "Location17217", "distinct too big, 16mb cap; narrow the query")
        }
        return reply
    }

    func listDatabases(_ command: BSONDocument, database: String) throws -> BSONDocument {
        guard database == "admin" else { throw MongoCommandError.unauthorized("listDatabases may only be run against the admin database.") }
        var databases: [BSONDocument] = [["name": .string(Namespace.database), "sizeOnDisk": .int64(0), "empty": false]]
        if let filter = try CommandArguments(command).document("filter"), !filter.isEmpty {
            databases = try MQLPipeline(stages: [["$match": .document(filter)]], registry: operators).run(databases)
        }
        if try CommandArguments(command).bool("nameOnly") == true {
            databases = databases.map { ["name": $0["name"] ?? .null] }
        }
        return ["databases": .array(databases.map(BSON.document)), "totalSize": .int64(0), "totalSizeMb": .int64(0), "ok": 1.0]
    }

    func listCollections(_ command: BSONDocument, database: String, session: MongoSession) async throws -> CommandReply {
        let arguments = CommandArguments(command)
        let names = database == Namespace.database ? try await Namespace.collections(organizationID: session.user!.organizationID, store: store) : []
        var infos: [BSONDocument] = names.map { name in
            ["name": .string(name), "type": "collection", "options": [:], "info": ["readOnly": true]]
        }
        if let filter = try arguments.document("filter"), !filter.isEmpty {
            infos = try MQLPipeline(stages: [["$match": .document(filter)]], registry: operators).run(infos)
        }
        if try arguments.bool("nameOnly") == true { infos = infos.map { ["name": $0["name"] ?? .null, "type": "collection"] } }
        let documents = try infos.map { document throws(MongoCommandError) in try CursorBatch.encode(document) }
        return .raw(CursorBatch.reply(id: 0, namespace: "\(database).$cmd.listCollections", batchName: "firstBatch", documents: documents))
    }

    func listIndexes(_ command: BSONDocument, database: String, session: MongoSession) async throws -> CommandReply {
        let collection = try collectionName(CommandArguments(command))
        guard try await Namespace.source(database: database, collection: collection, organizationID: session.user!.organizationID, store: store) != nil
        else { throw MongoCommandError.namespaceNotFound("ns does not exist: \(database).\(collection)") }
        return .raw(CursorBatch.reply(id: 0, namespace: "\(database).\(collection)", batchName: "firstBatch", documents: []))
    }

    // MARK: Helpers

    func collectionName(_ arguments: CommandArguments) throws(MongoCommandError) -> String {
        guard case .string(let name)? = arguments.value, !name.isEmpty else {
            throw .typeMismatch("\(arguments.name): the collection name must be a non-empty string")
        }
        return name
    }

    /// The query's results over a collection; a collection the organisation does not have is empty.
    func open(_ query: StoreQuery, database: String, collection: String, user: MongoSession.User) async throws -> QueryResultStream {
        guard let source = try await Namespace.source(database: database, collection: collection, organizationID: user.organizationID, store: store)
        else { return QueryResultStream(documents: [], then: []) }
        return try query.stream(on: store, organizationID: user.organizationID, source: source)
    }

    /// Every result of `stages` (count and distinct, whose answers are one document).
    func collect(_ stages: [BSONDocument], database: String, collection: String, user: MongoSession.User) async throws -> [BSONDocument] {
        let query = try StoreQuery(stages: stages, operators: operators)
        guard let source = try await Namespace.source(database: database, collection: collection, organizationID: user.organizationID, store: store)
        else { return [] }
        return try await query.run(on: store, organizationID: user.organizationID, source: source)
    }

    /// The first batch, keeping the cursor open server-wide when more results remain.
    func firstBatch(
        _ stream: QueryResultStream, namespace: String, organizationID: String, batchSize: Int?, singleBatch: Bool
    ) async throws -> CommandReply {
        var pending: [[UInt8]] = []
        let (documents, exhausted): ([[UInt8]], Bool)
        do {
            (documents, exhausted) = try await CursorBatch.next(
                from: stream, pending: &pending, count: batchSize ?? CursorBatch.defaultFirstBatchSize)
        } catch {
            stream.close()
            throw error
        }
        var id: Int64 = 0
        if !exhausted, !singleBatch {
            id = try await cursors.register(organizationID: organizationID, namespace: namespace, stream: stream, pending: pending)
        } else {
            stream.close()
        }
        return .raw(CursorBatch.reply(id: id, namespace: namespace, batchName: "firstBatch", documents: documents))
    }
}
