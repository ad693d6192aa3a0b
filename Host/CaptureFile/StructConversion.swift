import FerryBSON
import Foundation
import SwiftProtobuf

/// Readings travel in Viam's capture files and uploads as google.protobuf.Struct, which only has
/// JSON's types: numbers become doubles (as in Viam), dates become ISO-8601 strings, binary
/// becomes base64, other BSON types their relaxed Extended JSON.
package enum StructConversion {
    package static func `struct`(from document: BSONDocument) -> Google_Protobuf_Struct {
        var result = Google_Protobuf_Struct()
        for element in document { result.fields[element.key] = value(from: element.value) }
        return result
    }

    package static func value(from bson: BSON) -> Google_Protobuf_Value {
        switch bson {
        case .double(let d): return Google_Protobuf_Value(numberValue: d)
        case .int32(let i): return Google_Protobuf_Value(numberValue: Double(i))
        case .int64(let i): return Google_Protobuf_Value(numberValue: Double(i))
        case .string(let s), .symbol(let s): return Google_Protobuf_Value(stringValue: s)
        case .bool(let b): return Google_Protobuf_Value(boolValue: b)
        case .null, .undefined: return Google_Protobuf_Value(nilLiteral: ())
        case .document(let d): return Google_Protobuf_Value(structValue: `struct`(from: d))
        case .array(let a): return Google_Protobuf_Value(listValue: Google_Protobuf_ListValue(values: a.map(value(from:))))
        case .datetime(let ms): return Google_Protobuf_Value(stringValue: isoString(milliseconds: ms))
        case .binary(let b): return Google_Protobuf_Value(stringValue: Data(b.data).base64EncodedString())
        default: return Google_Protobuf_Value(stringValue: bson.extendedJSON(.relaxed))
        }
    }

    package static func document(from value: Google_Protobuf_Struct) -> BSONDocument {
        // Struct fields are a map; sort keys so the same reading always reads back the same way.
        BSONDocument(value.fields.keys.sorted().map { ($0, bson(from: value.fields[$0]!)) })
    }

    package static func bson(from value: Google_Protobuf_Value) -> BSON {
        switch value.kind {
        case .numberValue(let d): .double(d)
        case .stringValue(let s): .string(s)
        case .boolValue(let b): .bool(b)
        case .structValue(let s): .document(document(from: s))
        case .listValue(let l): .array(l.values.map(bson(from:)))
        case .nullValue, nil: .null
        }
    }

    static func isoString(milliseconds: Int64) -> String {
        ISODate.string(milliseconds, alwaysMilliseconds: true)
    }
}
