import FerryBSON
import Foundation

/// A small, direct implementation of MongoDB `$match` semantics for the operators the pushdown
/// tests generate, written independently of `MatchPushdown` so that it can judge it. Covers
/// equality, $eq/$ne/$in/$nin, $gt/$gte/$lt/$lte with type bracketing (numbers, strings and dates
/// compare only within their kind), $exists, $regex, dotted paths, $and/$or/$nor.
enum ReferenceMatch {
    static func matches(_ document: BSONDocument, _ query: BSONDocument) -> Bool {
        query.elements.allSatisfy { element in
            switch element.key {
            case "$and": clauses(element.value).allSatisfy { matches(document, $0) }
            case "$or": clauses(element.value).contains { matches(document, $0) }
            case "$nor": !clauses(element.value).contains { matches(document, $0) }
            default: fieldMatches(lookup(document, element.key), element.value)
            }
        }
    }

    private static func clauses(_ value: BSON) -> [BSONDocument] {
        value.arrayValue?.compactMap(\.documentValue) ?? []
    }

    private static func lookup(_ document: BSONDocument, _ path: String) -> BSON? {
        var current: BSON = .document(document)
        for part in path.split(separator: ".") {
            guard case .document(let d) = current, let next = d[String(part)] else { return nil }
            current = next
        }
        return current
    }

    private static func fieldMatches(_ value: BSON?, _ condition: BSON) -> Bool {
        if case .document(let ops) = condition, let first = ops.keys.first, first.hasPrefix("$") {
            return ops.elements.allSatisfy { op in apply(op.key, op.value, to: value) }
        }
        if case .regex(let pattern, _) = condition { return regexMatches(value, pattern) }
        return equals(value, condition)
    }

    private static func apply(_ op: String, _ operand: BSON, to value: BSON?) -> Bool {
        switch op {
        case "$eq": return equals(value, operand)
        case "$ne": return !equals(value, operand)
        case "$in":
            return (operand.arrayValue ?? []).contains { element in
                if case .regex(let pattern, _) = element { return regexMatches(value, pattern) }
                return equals(value, element)
            }
        case "$nin": return !apply("$in", operand, to: value)
        case "$gt": return compare(value, operand).map { $0 > 0 } ?? false
        case "$gte": return compare(value, operand).map { $0 >= 0 } ?? false
        case "$lt": return compare(value, operand).map { $0 < 0 } ?? false
        case "$lte": return compare(value, operand).map { $0 <= 0 } ?? false
        case "$exists": return (value != nil) == (operand.boolValue ?? true)
        case "$regex": return regexMatches(value, operand.stringValue ?? "")
        default: fatalError("reference evaluator does not know \(op)")
        }
    }

    private static func equals(_ value: BSON?, _ operand: BSON) -> Bool {
        guard let value else { return operand == .null }
        if case .null = operand { return value == .null }
        return compare(value, operand) == 0
    }

    /// Ordering within one kind (numbers, strings, dates), nil across kinds.
    private static func compare(_ value: BSON?, _ operand: BSON) -> Int? {
        switch (value, operand) {
        case (.string(let a)?, .string(let b)):
            return a == b ? 0 : (Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8)) ? -1 : 1)
        case (.datetime(let a)?, .datetime(let b)):
            return a == b ? 0 : (a < b ? -1 : 1)
        case (let a?, let b):
            guard let x = a.doubleValue, let y = b.doubleValue else { return nil }
            return x == y ? 0 : (x < y ? -1 : 1)
        default:
            return nil
        }
    }

    private static func regexMatches(_ value: BSON?, _ pattern: String) -> Bool {
        guard case .string(let s)? = value, let regex = try? NSRegularExpression(pattern: pattern) else { return false }
        return regex.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
    }
}
