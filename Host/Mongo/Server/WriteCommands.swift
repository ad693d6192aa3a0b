import FerryBSON
import FerryMongoWire
import FerryStore

extension MongoCommands {
    /// insert into `sensorData.readings`, for a database user allowed to insert (what a host's
    /// `mongo_capture_config` sends). Documents have Viam's reading shape; each becomes a reading of
    /// the user's organisation. Ordered inserts stop at the first bad document, as MongoDB's do.
    func insert(_ command: BSONDocument, database: String, session: MongoSession) async throws -> BSONDocument {
        let user = session.user!
        let arguments = CommandArguments(command)
        let collection = try collectionName(arguments)
        guard user.mayInsert, database == Namespace.database, collection == Namespace.readings else {
            throw Self.writeRefused("insert", database: database)
        }
        guard let documents = try arguments.documents("documents"), !documents.isEmpty else {
            throw MongoCommandError.failedToParse("insert: documents must be a non-empty array of objects")
        }
        guard documents.count <= 100_000 else { throw MongoCommandError.badValue("insert: at most 100000 documents per insert") }
        let ordered = try arguments.bool("ordered") ?? true
        var readings: [Reading] = []
        var writeErrors: [BSON] = []
        for (index, document) in documents.enumerated() {
            do {
                readings.append(try ReadingDocument.reading(from: document, organizationID: user.organizationID))
            } catch {
                writeErrors.append(["index": .int32(Int32(index)), "code": .int32(error.code), "errmsg": .string(error.message)])
                if ordered { break }
            }
        }
        let inserted = readings.isEmpty ? 0 : try await store.insert(readings, idempotencyKey: nil).inserted
        var reply: BSONDocument = ["n": .int32(Int32(inserted))]
        if !writeErrors.isEmpty { reply.append("writeErrors", .array(writeErrors)) }
        reply.append("ok", 1.0)
        return reply
    }
}

/// A MongoDB document in Viam's reading shape, as a stored reading.
enum ReadingDocument {
    static let textFields = ["location_id", "robot_id", "part_id", "component_type", "component_name", "method_name"]
    static let fields = ["organization_id", "time_requested", "time_received", "data", "additional_parameters", "tags"] + textFields

    static func set(_ field: String, _ value: String, in reading: inout Reading) {
        switch field {
        case "location_id": reading.locationID = value
        case "robot_id": reading.robotID = value
        case "part_id": reading.partID = value
        case "component_type": reading.componentType = value
        case "component_name": reading.componentName = value
        default: reading.methodName = value
        }
    }

    static func reading(from document: BSONDocument, organizationID: String) throws(MongoCommandError) -> Reading {
        var reading = Reading(organizationID: organizationID, timeRequested: 0, timeReceived: 0, data: [:])
        var times: [String: Int64] = [:]
        for element in document.elements {
            switch (element.key, element.value) {
            case ("_id", _): continue  // a driver's ObjectId; readings are identified by the store
            case ("organization_id", .string(let value)):
                guard value == organizationID else {
                    throw .unauthorized("organization_id \(value) is not the database user's organisation (\(organizationID))")
                }
            case ("time_requested", .datetime(let t)), ("time_received", .datetime(let t)): times[element.key] = t
            case ("data", .document(let data)): reading.data = data
            case ("additional_parameters", .document(let parameters)): reading.additionalParameters = parameters
            case ("tags", .array(let values)):
                reading.tags = try values.map { value throws(MongoCommandError) in
                    guard case .string(let tag) = value else { throw .typeMismatch("tags must be an array of strings") }
                    return tag
                }
            case (let key, .string(let value)) where textFields.contains(key):
                set(key, value, in: &reading)
            case (let key, let value):
                guard fields.contains(key) else {
                    throw .badValue("field \(key) is not part of a reading (Viam's fields: \(fields.joined(separator: ", ")))")
                }
                throw .typeMismatch("field \(key) has type \(CommandArguments.typeName(value)); see Viam's reading shape (times are dates, data an object)")
            }
        }
        guard let received = times["time_received"] else { throw .badValue("a reading needs time_received (a date)") }
        guard document["data"] != nil else { throw .badValue("a reading needs data (an object)") }
        reading.timeReceived = received
        reading.timeRequested = times["time_requested"] ?? received
        return reading
    }
}
