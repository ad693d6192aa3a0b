import FerryBSON

/// Splits a MongoDB `$match` document into what SQL can evaluate on stored, indexed columns and
/// what must stay for the MQL engine. The split is exact: rows matching `filter` and then
/// `residual` are precisely the rows matching the original `$match`. Anything not certainly
/// equivalent stays in the residual; the MQL engine also reports any malformed operator there.
public enum MatchPushdown {
    /// Columns whose stored value is always a string.
    static let textColumns: [String: ReadingFilter.Column] = Dictionary(
        uniqueKeysWithValues: ReadingFilter.Column.allCases.map { ($0.rawValue, $0) })
    static let timeColumns: Set<String> = ["time_requested", "time_received"]

    public static func split(_ match: BSONDocument) -> (filter: ReadingFilter, residual: BSONDocument?) {
        var filter = ReadingFilter()
        let residual = split(match, into: &filter)
        return (filter, residual.isEmpty ? nil : residual)
    }

    /// Pushes what it can from `match` into `filter`; returns the rest (possibly empty).
    private static func split(_ match: BSONDocument, into filter: inout ReadingFilter) -> BSONDocument {
        // A repeated key is ambiguous across drivers: leave the whole document to the engine.
        guard Set(match.keys).count == match.count else { return match }
        var residual = BSONDocument()
        for element in match.elements {
            if let rest = pushElement(element, into: &filter) { residual.elements.append(rest) }
        }
        return residual
    }

    /// Returns the part of one top-level element that could not be pushed, or nil.
    private static func pushElement(_ element: BSONElement, into filter: inout ReadingFilter) -> BSONElement? {
        let key = element.key
        if key == "$and" { return pushAnd(element, into: &filter) }
        if let column = textColumns[key] { return pushText(column, element, into: &filter) }
        if timeColumns.contains(key) { return pushTime(key, element, into: &filter) }
        if key == "tags" { return pushTags(element, into: &filter) }
        if key.hasPrefix("data.") { filter.dataHints += dataHints(element) }
        return element
    }

    /// Necessary conditions on a path inside `data`, for a custom index (the element itself stays
    /// in the residual, so they need only never exclude a matching reading): a number or string
    /// equal to a value or one of `$in`, or a number compared with `$gt`/`$gte`/`$lt`/`$lte`.
    /// Other operators and values (`$ne`, `null`, dates, arrays…) give none.
    static func dataHints(_ element: BSONElement, droppingLeading dropped: Int = 1) -> [DataHint] {
        let path = element.key.split(separator: ".", omittingEmptySubsequences: false).dropFirst(dropped).map(String.init)
        guard !path.contains(where: { $0.isEmpty || $0.hasPrefix("$") }) else { return [] }
        if let value = DataIndexValue(element.value) { return [DataHint(path: path, test: .oneOf([value]))] }
        guard case .document(let operators) = element.value, isOperatorDocument(operators) else { return [] }
        var hints: [DataHint] = []
        for op in operators.elements {
            switch (op.key, op.value) {
            case ("$eq", let value):
                if let value = DataIndexValue(value) { hints.append(DataHint(path: path, test: .oneOf([value]))) }
            case ("$in", .array(let values)):
                let keys = values.compactMap(DataIndexValue.init)
                if !values.isEmpty, keys.count == values.count { hints.append(DataHint(path: path, test: .oneOf(keys))) }
            case ("$gt", let value), ("$gte", let value), ("$lt", let value), ("$lte", let value):
                guard let number = DataIndexValue(value), number.isNumber else { continue }
                let comparison: DataHint.Comparison =
                    switch op.key {
                    case "$gt": .greaterThan
                    case "$gte": .atLeast
                    case "$lt": .lessThan
                    default: .atMost
                    }
                hints.append(DataHint(path: path, test: .compare(comparison, number)))
            default:
                continue
            }
        }
        return hints
    }

    /// Necessary conditions on document paths for a `$match` on a pipeline's sink: those
    /// `dataHints` gives for each top-level path and each one inside a top-level `$and`. They never
    /// decide a match: the whole `$match` still runs in the engine.
    public static func documentHints(_ match: BSONDocument) -> [DataHint] {
        guard Set(match.keys).count == match.count else { return [] }
        var hints: [DataHint] = []
        for element in match.elements {
            if element.key == "$and" {
                guard case .array(let clauses) = element.value else { continue }
                for case .document(let clause) in clauses { hints += documentHints(clause) }
            } else if !element.key.hasPrefix("$") {
                hints += dataHints(element, droppingLeading: 0)
            }
        }
        return hints
    }

    private static func pushAnd(_ element: BSONElement, into filter: inout ReadingFilter) -> BSONElement? {
        // Only a non-empty array of documents is a valid $and; anything else is the engine's to reject.
        guard case .array(let clauses) = element.value, !clauses.isEmpty else { return element }
        var documents: [BSONDocument] = []
        for clause in clauses {
            guard case .document(let document) = clause else { return element }
            documents.append(document)
        }
        var pushed = filter
        var rest: [BSON] = []
        for document in documents {
            let remaining = split(document, into: &pushed)
            if !remaining.isEmpty { rest.append(.document(remaining)) }
        }
        filter = pushed
        return rest.isEmpty ? nil : BSONElement("$and", .array(rest))
    }

    private static func pushText(_ column: ReadingFilter.Column, _ element: BSONElement, into filter: inout ReadingFilter)
        -> BSONElement?
    {
        switch element.value {
        case .string(let value):
            filter.restrict(column, to: [value])
            return nil
        case .document(let operators) where isOperatorDocument(operators):
            var rest = BSONDocument()
            for op in operators.elements {
                switch (op.key, op.value) {
                case ("$eq", .string(let value)):
                    filter.restrict(column, to: [value])
                case ("$in", .array(let values)):
                    let strings = values.compactMap(\.stringValue)
                    if strings.count == values.count {
                        filter.restrict(column, to: Set(strings))
                    } else {
                        rest.elements.append(op)
                    }
                default:
                    rest.elements.append(op)
                }
            }
            return rest.isEmpty ? nil : BSONElement(element.key, .document(rest))
        default:
            return element
        }
    }

    /// `tags` is always an array of strings, so `{tags: "t"}`, `{$eq: "t"}` and `{$in: [strings]}`
    /// hold exactly when a reading has one of the tags: the filter's `anyTag`. It holds one such
    /// set, so a second tag condition (`$and: [{tags: "a"}, {tags: "b"}]`) stays in the residual.
    private static func pushTags(_ element: BSONElement, into filter: inout ReadingFilter) -> BSONElement? {
        func push(_ tags: Set<String>) -> Bool {
            // A NUL cannot travel to PostgreSQL as text; the engine finds that no tag has it.
            guard filter.anyTag == nil, !tags.contains(where: { $0.utf8.contains(0) }) else { return false }
            filter.anyTag = tags
            return true
        }
        switch element.value {
        case .string(let tag):
            return push([tag]) ? nil : element
        case .document(let operators) where isOperatorDocument(operators):
            var rest = BSONDocument()
            for op in operators.elements {
                switch (op.key, op.value) {
                case ("$eq", .string(let tag)) where push([tag]):
                    continue
                case ("$in", .array(let values)):
                    let tags = values.compactMap(\.stringValue)
                    if tags.count != values.count || !push(Set(tags)) { rest.elements.append(op) }
                default:
                    rest.elements.append(op)
                }
            }
            return rest.isEmpty ? nil : BSONElement(element.key, .document(rest))
        default:
            return element
        }
    }

    private static func pushTime(_ key: String, _ element: BSONElement, into filter: inout ReadingFilter) -> BSONElement? {
        var bounds = key == "time_received" ? filter.timeReceived : filter.timeRequested
        defer {
            if key == "time_received" { filter.timeReceived = bounds } else { filter.timeRequested = bounds }
        }
        switch element.value {
        case .datetime(let t):
            bounds.equalTo(t)
            return nil
        case .document(let operators) where isOperatorDocument(operators):
            var rest = BSONDocument()
            for op in operators.elements {
                // Only BSON dates: MongoDB compares a date with a number or string as never equal
                // or ordered (type bracketing), which SQL on integer milliseconds would not do.
                guard case .datetime(let t) = op.value else {
                    rest.elements.append(op)
                    continue
                }
                switch op.key {
                case "$eq": bounds.equalTo(t)
                case "$gt": bounds.greaterThan(t)
                case "$gte": bounds.atLeast(t)
                case "$lt": bounds.lessThan(t)
                case "$lte": bounds.atMost(t)
                default: rest.elements.append(op)
                }
            }
            return rest.isEmpty ? nil : BSONElement(element.key, .document(rest))
        default:
            return element
        }
    }

    /// `{$op: …, …}` with every key an operator and none repeated; a document mixing operators
    /// with plain keys, or an empty one, is an equality test on a document (or an error).
    private static func isOperatorDocument(_ document: BSONDocument) -> Bool {
        !document.isEmpty && document.keys.allSatisfy { $0.hasPrefix("$") } && Set(document.keys).count == document.count
    }
}
