import FerryBSON
import FerryMongoWire

/// Reads a command's fields with MongoDB's errors: a field of the wrong type is TypeMismatch, a
/// bad value BadValue, each naming the command and the field.
struct CommandArguments {
    let command: BSONDocument
    let name: String

    init(_ command: BSONDocument, name: String? = nil) {
        self.command = command
        self.name = name ?? command.keys.first ?? ""
    }

    /// The command's own value (`find: "readings"`, `getMore: <id>`…).
    var value: BSON? { command.elements.first?.value }

    func document(_ field: String) throws(MongoCommandError) -> BSONDocument? {
        switch command[field] {
        case nil, .null?: return nil
        case .document(let value)?: return value
        case let other?: throw mismatch(field, "an object", other)
        }
    }

    func documents(_ field: String) throws(MongoCommandError) -> [BSONDocument]? {
        switch command[field] {
        case nil, .null?: return nil
        case .array(let items)?:
            var out: [BSONDocument] = []
            for (index, item) in items.enumerated() {
                guard case .document(let document) = item else { throw mismatch("\(field).\(index)", "an object", item) }
                out.append(document)
            }
            return out
        case let other?: throw mismatch(field, "an array of objects", other)
        }
    }

    func string(_ field: String) throws(MongoCommandError) -> String? {
        switch command[field] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        case let other?: throw mismatch(field, "a string", other)
        }
    }

    func bool(_ field: String) throws(MongoCommandError) -> Bool? {
        switch command[field] {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        case .int32(let value)?: return value != 0
        case .int64(let value)?: return value != 0
        case .double(let value)?: return value != 0
        case let other?: throw mismatch(field, "a boolean", other)
        }
    }

    /// A whole number (int32, int64, or a double without a fraction), as drivers send counts.
    func integer(_ field: String) throws(MongoCommandError) -> Int64? {
        guard let value = command[field], value != .null else { return nil }
        guard let number = Self.integer(value) else { throw mismatch(field, "a whole number", value) }
        return number
    }

    func nonNegative(_ field: String) throws(MongoCommandError) -> Int? {
        guard let number = try integer(field) else { return nil }
        guard number >= 0, number <= Int64(Int32.max) else {
            throw .badValue("\(name): \(field) must be from 0 to \(Int32.max), not \(number)")
        }
        return Int(number)
    }

    static func integer(_ value: BSON) -> Int64? {
        switch value {
        case .int32(let v): Int64(v)
        case .int64(let v): v
        case .double(let v) where v.rounded() == v && abs(v) < 9e15: Int64(v)
        default: nil
        }
    }

    func mismatch(_ field: String, _ expected: String, _ got: BSON) -> MongoCommandError {
        .typeMismatch("\(name): the \(field) field must be \(expected), not \(Self.typeName(got))")
    }

    static func typeName(_ value: BSON) -> String {
        switch value {
        case .double: "double"
        case .string: "string"
        case .document: "object"
        case .array: "array"
        case .binary: "binData"
        case .undefined: "undefined"
        case .objectID: "objectId"
        case .bool: "bool"
        case .datetime: "date"
        case .null: "null"
        case .regex: "regex"
        case .dbPointer: "dbPointer"
        case .javascript, .javascriptWithScope: "javascript"
        case .symbol: "symbol"
        case .int32: "int"
        case .timestamp: "timestamp"
        case .int64: "long"
        case .decimal128: "decimal"
        case .minKey: "minKey"
        case .maxKey: "maxKey"
        }
    }
}
