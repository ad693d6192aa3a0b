import FerryBSON

/// Which fields of its input documents a pipeline can read (MongoDB's dependency tracking), so a
/// store may hand it only those: `everything` unless every result is provably made of named
/// fields alone. Conservative by construction: a path it cannot place, a stage or operator it
/// does not know, `$$ROOT`/`$$CURRENT`, or a pipeline whose results are its input documents
/// themselves (no `$group`, inclusion `$project`, `$replaceRoot`, … at the end) all mean
/// `everything`. Reading more than needed is always correct; reading less never happens.
public enum MQLDependencies {
    /// The fields of the input that `stages` may read (a superset is fine, never a subset).
    public static func fields(of stages: [BSONDocument]) -> BSONFieldSet {
        var tracker = Tracker()
        for stage in stages {
            guard stage.count == 1, let element = stage.elements.first else { return .everything }
            switch tracker.stage(element.key, element.value) {
            case .passesThrough: continue
            case .replacesDocuments: return tracker.fields
            case .unknown: return .everything
            }
        }
        // The input documents (changed or not) are the results: all of each is needed.
        return .everything
    }

    private enum StageKind {
        /// Each output document is its input, perhaps changed: later stages see its other fields.
        case passesThrough
        /// Output documents are built only from the fields tracked so far.
        case replacesDocuments
        /// Not analysed: anything may be read.
        case unknown
    }

    private struct Tracker {
        var fields = BSONFieldSet.nothing
        var everything = false

        mutating func path(_ dotted: Substring) {
            let parts = dotted.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            if parts.isEmpty || parts.contains(where: { $0.isEmpty || $0.hasPrefix("$") }) {
                everything = true
            } else {
                fields.insert(parts[...])
            }
        }

        mutating func stage(_ name: String, _ spec: BSON) -> StageKind {
            let kind = analyse(name, spec)
            return everything ? .unknown : kind
        }

        private mutating func analyse(_ name: String, _ spec: BSON) -> StageKind {
            switch name {
            case "$match":
                guard case .document(let query) = spec else { return .unknown }
                self.query(query)
                return .passesThrough
            case "$addFields", "$set":
                expression(spec)
                return .passesThrough
            case "$unset", "$limit", "$skip", "$sample":
                return .passesThrough
            case "$sort":
                guard case .document(let keys) = spec else { return .unknown }
                for element in keys {
                    if case .document = element.value { return .unknown }  // {$meta: …}
                    path(element.key[...])
                }
                return .passesThrough
            case "$unwind":
                switch spec {
                case .string: expression(spec)
                case .document(let options): expression(options["path"] ?? .null)
                default: return .unknown
                }
                return .passesThrough
            case "$project":
                guard case .document(let projection) = spec else { return .unknown }
                if isExclusion(projection) { return .passesThrough }
                if projection["_id"].map(isExclude) != true { path("_id") }
                inclusion(projection, prefix: "")
                return .replacesDocuments
            case "$group", "$bucket", "$bucketAuto", "$sortByCount", "$replaceRoot", "$replaceWith":
                expression(spec)
                return .replacesDocuments
            case "$count":
                return .replacesDocuments
            case "$facet":
                guard case .document(let facets) = spec else { return .unknown }
                for facet in facets {
                    guard case .array(let items) = facet.value else { return .unknown }
                    var stages: [BSONDocument] = []
                    for item in items {
                        guard case .document(let stage) = item else { return .unknown }
                        stages.append(stage)
                    }
                    let needed = MQLDependencies.fields(of: stages)
                    if needed.isEverything { return .unknown }
                    fields.formUnion(needed)
                }
                return .replacesDocuments
            default:
                // $lookup, $setWindowFields, $densify, $fill, $redact, $geoNear, plugin stages, …
                return .unknown
            }
        }

        /// A query document: keys are paths, except the logical operators and `$expr`.
        private mutating func query(_ query: BSONDocument) {
            for element in query {
                switch element.key {
                case "$and", "$or", "$nor":
                    guard case .array(let clauses) = element.value else {
                        everything = true
                        return
                    }
                    for clause in clauses {
                        guard case .document(let inner) = clause else {
                            everything = true
                            return
                        }
                        self.query(inner)
                    }
                case "$expr": expression(element.value)
                case "$comment": continue
                default:
                    // $text, $where, $jsonSchema, …: not analysed.
                    if element.key.hasPrefix("$") {
                        everything = true
                    } else {
                        path(element.key[...])
                    }
                }
            }
        }

        /// Every field path an expression (or a stage spec made of expressions) may evaluate.
        /// Object keys are not paths, except a `sortBy` document's ($top/$bottom/$sortArray).
        private mutating func expression(_ value: BSON) {
            switch value {
            case .string(let text):
                if text.hasPrefix("$$") {
                    let name = text.dropFirst(2).prefix { $0 != "." }
                    if name == "ROOT" || name == "CURRENT" { everything = true }
                } else if text.hasPrefix("$") {
                    path(text.dropFirst())
                }
            case .array(let items):
                for item in items { expression(item) }
            case .document(let document):
                if document.count == 1, let element = document.elements.first, element.key.hasPrefix("$") {
                    operatorExpression(element.key, element.value)
                    return
                }
                for element in document {
                    if element.key == "sortBy", case .document(let keys) = element.value {
                        // $topN's sort keys are paths; the same name in any other object holds
                        // expressions, so its values are read too (an extra field is harmless).
                        for key in keys { path(key.key[...]) }
                        expression(element.value)
                    } else if element.key == "as", case .string(let name) = element.value, name == "CURRENT" || name == "ROOT" {
                        everything = true
                    } else {
                        expression(element.value)
                    }
                }
            default:
                return
            }
        }

        private mutating func operatorExpression(_ name: String, _ argument: BSON) {
            switch name {
            case "$literal":
                return
            case "$let":
                if case .document(let spec) = argument, case .document(let vars)? = spec["vars"],
                    vars.keys.contains("CURRENT") || vars.keys.contains("ROOT")
                {
                    everything = true
                }
                expression(argument)
            case "$getField", "$setField", "$unsetField":
                // Without `input`, these read a field of $$CURRENT by a name that is not a path.
                guard case .document(let spec) = argument, spec["input"] != nil else {
                    everything = true
                    return
                }
                expression(argument)
            case "$meta", "$function", "$accumulator":
                everything = true
            default:
                expression(argument)
            }
        }

        private func isExclude(_ value: BSON) -> Bool {
            switch value {
            case .bool(let flag): !flag
            case .int32(let n): n == 0
            case .int64(let n): n == 0
            case .double(let n): n == 0
            case .decimal128: value.doubleValue == 0
            default: false
            }
        }

        private func isInclude(_ value: BSON) -> Bool {
            switch value {
            case .bool(let flag): flag
            case .int32, .int64, .double, .decimal128: !isExclude(value)
            default: false
            }
        }

        /// Whether a $project spec only removes fields (an exclusion; `_id: 0` alone is one too). As
        /// the engine decides: a top-level `_id: 1` does not make `{_id: 1, tags: 0}` an inclusion.
        private func isExclusion(_ projection: BSONDocument, topLevel: Bool = true) -> Bool {
            var excludes = false
            for element in projection {
                if topLevel && element.key == "_id" && isInclude(element.value) { continue }
                switch element.value {
                case .document(let nested) where !(nested.count == 1 && nested.keys.first?.hasPrefix("$") == true):
                    if isExclusion(nested, topLevel: false) { excludes = true } else { return false }
                default:
                    if isExclude(element.value) {
                        excludes = true
                    } else {
                        return false
                    }
                }
            }
            return excludes || projection.isEmpty
        }

        private mutating func inclusion(_ projection: BSONDocument, prefix: String) {
            for element in projection {
                let dotted = prefix + element.key
                switch element.value {
                case .document(let nested) where !(nested.count == 1 && nested.keys.first?.hasPrefix("$") == true):
                    inclusion(nested, prefix: dotted + ".")
                default:
                    if isInclude(element.value) {
                        path(dotted[...])
                    } else if !isExclude(element.value) {
                        expression(element.value)
                    }
                }
            }
        }
    }
}

extension MQLPipeline {
    /// The fields of its input documents this pipeline may read (`MQLDependencies`).
    public var inputFields: BSONFieldSet { MQLDependencies.fields(of: stages) }
}
