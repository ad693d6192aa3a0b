import FerryBSON

/// What a stage's compiler gets: its spec, its place, the expression compiler.
struct StageInput {
    let index: Int
    let name: String
    let spec: BSON
    let compiler: ExprCompiler
    /// The stage after this one, if any (for `$sort` + `$limit`).
    let next: BSONDocument?
    /// Whether this stage sits inside `$facet` (some stages are not allowed there).
    let inFacet: Bool
}

typealias StageOpen = @Sendable (_ upstream: DocumentSource, _ ctx: EvalContext) -> DocumentSource

enum StageCompiler {
    typealias Compile = @Sendable (StageInput) throws -> StageOpen

    static let table: [String: Compile] = [
        "$match": compileMatch,
        "$project": { s in try projection(try Projection.project(s.spec, s.compiler)) },
        "$addFields": { s in try projection(try Projection.addFields(s.spec, s.compiler, op: s.name)) },
        "$set": { s in try projection(try Projection.addFields(s.spec, s.compiler, op: s.name)) },
        "$unset": { s in try projection(try Projection.unset(s.spec)) },
        "$replaceRoot": compileReplaceRoot,
        "$replaceWith": compileReplaceRoot,
        "$limit": { s in
            let n = try integerArgument(s.spec, op: "$limit", what: "limit", allowZero: false)
            return { upstream, _ in LimitSource(upstream, n) }
        },
        "$skip": { s in
            let n = try integerArgument(s.spec, op: "$skip", what: "number to skip", allowZero: true)
            return { upstream, _ in SkipSource(upstream, n) }
        },
        "$count": compileCount,
        "$sort": compileSort,
        "$unwind": compileUnwind,
        "$redact": compileRedact,
        "$sample": compileSample,
        "$group": GroupStage.compile,
        "$sortByCount": GroupStage.compileSortByCount,
        "$bucket": BucketStages.compileBucket,
        "$bucketAuto": BucketStages.compileBucketAuto,
        "$facet": SubPipelineStages.compileFacet,
        "$lookup": SubPipelineStages.compileLookup,
        "$setWindowFields": WindowStage.compile,
        "$densify": DensifyStage.compile,
        "$fill": FillStage.compile,
        "$geoNear": GeoNearStage.compile,
    ]

    static let refused: [String: String] = [
        "$out": "$out is not supported: Ferry pipelines write their results to the pipeline's sink collection; remove the $out stage",
        "$merge": "$merge is not supported: Ferry pipelines write their results to the pipeline's sink collection; remove the $merge stage",
        "$unionWith": "$unionWith is not supported; query each source separately",
        "$graphLookup": "$graphLookup is not supported",
        "$search": "$search needs Atlas Search, which Ferry does not have",
        "$searchMeta": "$searchMeta needs Atlas Search, which Ferry does not have",
        "$vectorSearch": "$vectorSearch needs Atlas Vector Search, which Ferry does not have",
        "$indexStats": "$indexStats is not supported: Ferry keeps no MongoDB indexes",
        "$collStats": "$collStats is not supported",
        "$currentOp": "$currentOp is not supported",
        "$listSessions": "$listSessions is not supported",
        "$changeStream": "$changeStream is not supported",
        "$documents": "$documents is not supported",
        "$planCacheStats": "$planCacheStats is not supported",
    ]

    static var builtinNames: Set<String> { Set(table.keys).union(refused.keys) }

    static func compile(_ stage: BSONDocument, index: Int, compiler: ExprCompiler, next: BSONDocument?, inFacet: Bool = false) throws -> CompiledStage {
        guard stage.count == 1, let element = stage.elements.first else {
            let keys = stage.keys.joined(separator: ", ")
            throw MQLError(
                stageIndex: index, stageName: nil,
                message: stage.isEmpty
                    ? "a pipeline stage must be an object with exactly one field, the stage name; found an empty object"
                    : "a pipeline stage must be an object with exactly one field, the stage name; found \(stage.count) fields (\(keys))")
        }
        let name = element.key
        do {
            if let message = refused[name] { throw mqlError(name, message) }
            if inFacet && ["$facet", "$geoNear"].contains(name) {
                throw mqlError(name, "\(name) is not allowed to be used within a $facet stage")
            }
            if name == "$geoNear" && index != 0 {
                throw mqlError(name, "$geoNear is only valid as the first stage in a pipeline")
            }
            let input = StageInput(index: index, name: name, spec: element.value, compiler: compiler, next: next, inFacet: inFacet)
            let open: StageOpen
            if let builtin = table[name] {
                open = try builtin(input)
            } else if let plugin = compiler.registry.stages[name] {
                open = try PluginStage.compile(plugin, input)
            } else {
                let known = Array(table.keys) + Array(compiler.registry.stages.keys)
                throw mqlError(name, unknownNameMessage(kind: "stage", name: name, among: known))
            }
            return CompiledStage(index: index, name: name, spec: element.value, open: open)
        } catch let e as MQLError {
            throw e.inStage(index, name)
        }
    }

    // MARK: Simple stages

    static func compileMatch(_ s: StageInput) throws -> StageOpen {
        guard case .document(let query) = s.spec else {
            throw mqlError("$match", "the match filter must be an expression in an object, found \(Values.typeName(s.spec))")
        }
        let matcher = try QueryCompiler.compile(query, s.compiler)
        return { upstream, ctx in MatchSource(upstream, matcher, ctx) }
    }

    static func projection(_ p: Projection) throws -> StageOpen {
        return { upstream, ctx in MapSource(upstream) { try p.apply($0, ctx) } }
    }

    static func compileReplaceRoot(_ s: StageInput) throws -> StageOpen {
        let newRoot: BSON
        if s.name == "$replaceRoot" {
            guard case .document(let d) = s.spec else {
                throw mqlError(s.name, "expected an object as specification for $replaceRoot stage, got \(Values.typeName(s.spec))")
            }
            guard d.count == 1, let value = d["newRoot"] else {
                let extra = d.keys.first { $0 != "newRoot" }
                throw mqlError(s.name, extra.map { "unrecognized option to $replaceRoot stage: \($0)" } ?? "no newRoot specified for the $replaceRoot stage")
            }
            newRoot = value
        } else {
            newRoot = s.spec
        }
        let expr = try s.compiler.compile(newRoot).eval
        let what = s.name == "$replaceRoot" ? "'newRoot' expression" : "'replacement document'"
        let stageName = s.name
        return { upstream, ctx in
            MapSource(upstream) { doc in
                ctx.setDocument(doc)
                let v = try expr(ctx)
                guard case .document(let d)? = v else {
                    throw mqlError(stageName, "\(what) must evaluate to an object, but resulting value was: \(Values.describe(v)). Type of resulting value: '\(Values.typeName(v))'. Input document: \(Values.describe(.document(doc)))")
                }
                return d
            }
        }
    }

    static func compileCount(_ s: StageInput) throws -> StageOpen {
        guard case .string(let field) = s.spec else {
            throw mqlError("$count", "the count field must be a non-empty string, found \(Values.typeName(s.spec))")
        }
        if field.isEmpty { throw mqlError("$count", "the count field must be a non-empty string") }
        if field.hasPrefix("$") { throw mqlError("$count", "the count field cannot be a $-prefixed path") }
        if field.contains(".") { throw mqlError("$count", "the count field cannot contain '.'") }
        return { upstream, _ in
            BlockingSource {
                var n: Int64 = 0
                while try upstream.next() != nil { n += 1 }
                return n == 0 ? [] : [[field: integerResult(n, narrowTo: .int32)]]
            }
        }
    }

    static func compileSort(_ s: StageInput) throws -> StageOpen {
        let spec = try SortSpec(s.spec, op: "$sort")
        var limit: Int?
        if let next = s.next, next.count == 1, let l = next["$limit"], let n = l.exactInt64, n > 0, l.isNumeric {
            limit = Int(min(n, Int64(Int32.max)))
        }
        let topLimit = limit
        return { upstream, ctx in
            BlockingSource {
                var budget = MemoryBudget(limit: ctx.environment.options.memoryLimitBytes, stage: "$sort")
                if let limit = topLimit { return try topK(upstream, spec, limit, &budget) }
                let docs = try budget.drain(upstream)
                return spec.sort(docs)
            }
        }
    }

    /// `$sort` followed by `$limit`: keeps only the first `k` in order, stably.
    static func topK(_ upstream: DocumentSource, _ spec: SortSpec, _ k: Int, _ budget: inout MemoryBudget) throws -> [BSONDocument] {
        var kept: [(key: [BSON?], seq: Int, doc: BSONDocument)] = []
        var seq = 0
        while let d = try upstream.next() {
            let key = spec.extract(d)
            seq += 1
            if kept.count == k, let last = kept.last, spec.compareKeys(key, last.key) >= 0 { continue }
            // Binary search for the insertion point after equal keys (stability).
            var lo = 0, hi = kept.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if spec.compareKeys(kept[mid].key, key) <= 0 { lo = mid + 1 } else { hi = mid }
            }
            kept.insert((key, seq, d), at: lo)
            if kept.count > k {
                kept.removeLast()
            } else {
                try budget.add(Values.estimatedSize(d))
            }
        }
        return kept.map(\.doc)
    }

    static func compileUnwind(_ s: StageInput) throws -> StageOpen {
        var pathText: String
        var includeIndex: String?
        var preserve = false
        switch s.spec {
        case .string(let p): pathText = p
        case .document(let d):
            for element in d.elements {
                switch element.key {
                case "path":
                    guard case .string(let p) = element.value else {
                        throw mqlError("$unwind", "expected a string as the path for $unwind stage, got \(Values.typeName(element.value))")
                    }
                    pathText = p
                case "includeArrayIndex":
                    guard case .string(let f) = element.value, !f.isEmpty, !f.hasPrefix("$") else {
                        throw mqlError("$unwind", "includeArrayIndex must be a non-empty string that does not start with '$', found \(Values.describe(element.value))")
                    }
                    includeIndex = f
                case "preserveNullAndEmptyArrays":
                    guard case .bool(let b) = element.value else {
                        throw mqlError("$unwind", "expected a boolean for the preserveNullAndEmptyArrays option to $unwind stage, got \(Values.typeName(element.value))")
                    }
                    preserve = b
                default:
                    throw mqlError("$unwind", "unrecognized option to $unwind stage: \(element.key)")
                }
            }
            guard let p = d["path"]?.stringValue else { throw mqlError("$unwind", "no path specified to $unwind stage") }
            pathText = p
        default:
            throw mqlError("$unwind", "expected either a string or an object as specification for $unwind stage, got \(Values.typeName(s.spec))")
        }
        guard pathText.hasPrefix("$") else {
            throw mqlError("$unwind", "path option to $unwind stage should be prefixed with a '$': \(pathText)")
        }
        let path = try FieldPath(String(pathText.dropFirst()), op: "$unwind", what: "$unwind path").components
        let preserveEmpty = preserve
        let indexPath = try includeIndex.map { try FieldPath($0, op: "$unwind", what: "includeArrayIndex").components }
        return { upstream, _ in
            FlatMapSource(upstream) { doc in
                let value = FieldPath.nested(path, in: doc)
                switch value {
                case .array(let elements)?:
                    if elements.isEmpty {
                        guard preserveEmpty else { return [] }
                        var out = doc
                        out.removePath(ArraySlice(path))
                        if let indexPath { out.setPath(ArraySlice(indexPath), .null) }
                        return [out]
                    }
                    var outs: [BSONDocument] = []
                    outs.reserveCapacity(elements.count)
                    for (i, e) in elements.enumerated() {
                        var out = doc
                        out.setPath(ArraySlice(path), e)
                        if let indexPath { out.setPath(ArraySlice(indexPath), .int64(Int64(i))) }
                        outs.append(out)
                    }
                    return outs
                case nil, .null?, .undefined?:
                    guard preserveEmpty else { return [] }
                    var out = doc
                    if let indexPath { out.setPath(ArraySlice(indexPath), .null) }
                    return [out]
                case let v?:
                    // A non-array value unwinds as a one-element array.
                    _ = v
                    var out = doc
                    if let indexPath { out.setPath(ArraySlice(indexPath), .null) }
                    return [out]
                }
            }
        }
    }

    static func compileRedact(_ s: StageInput) throws -> StageOpen {
        s.compiler.redactVariables = true
        defer { s.compiler.redactVariables = false }
        let expr = try s.compiler.compile(s.spec).eval
        @Sendable func redact(_ doc: BSONDocument, _ ctx: EvalContext) throws -> BSONDocument? {
            let saved = ctx.currentDoc
            ctx.currentDoc = doc
            ctx.currentOverride = nil
            defer { ctx.currentDoc = saved }
            let decision = try expr(ctx)
            switch decision {
            case .string("prune")?: return nil
            case .string("keep")?: return doc
            case .string("descend")?:
                var out = BSONDocument()
                for element in doc.elements {
                    switch element.value {
                    case .document(let sub):
                        if let kept = try redact(sub, ctx) { out.append(element.key, .document(kept)) }
                    case .array(let a):
                        out.append(element.key, .array(try redactArray(a, ctx)))
                    default:
                        out.elements.append(element)
                    }
                }
                return out
            default:
                throw mqlError("$redact", "$redact's expression should not return anything aside from the variables $$KEEP, $$DESCEND, and $$PRUNE, but returned \(Values.describe(decision))")
            }
        }
        @Sendable func redactArray(_ a: [BSON], _ ctx: EvalContext) throws -> [BSON] {
            var out: [BSON] = []
            for e in a {
                switch e {
                case .document(let d): if let kept = try redact(d, ctx) { out.append(.document(kept)) }
                case .array(let inner): out.append(.array(try redactArray(inner, ctx)))
                default: out.append(e)
                }
            }
            return out
        }
        return { upstream, ctx in
            MapSource(upstream) { doc in
                ctx.root = doc
                return try redact(doc, ctx)
            }
        }
    }

    static func compileSample(_ s: StageInput) throws -> StageOpen {
        guard case .document(let d) = s.spec else {
            throw mqlError("$sample", "the $sample stage specification must be an object, found \(Values.typeName(s.spec))")
        }
        for key in d.keys where key != "size" { throw mqlError("$sample", "unrecognized option to $sample: \(key)") }
        guard let sizeValue = d["size"] else { throw mqlError("$sample", "$sample stage must specify a size") }
        let size = try integerArgument(sizeValue, op: "$sample", what: "size", allowZero: true)
        return { upstream, ctx in
            BlockingSource {
                // Reservoir sampling, then a shuffle: every subset of `size` is equally likely.
                var budget = MemoryBudget(limit: ctx.environment.options.memoryLimitBytes, stage: "$sample")
                var reservoir: [BSONDocument] = []
                var seen: Int64 = 0
                while let doc = try upstream.next() {
                    seen += 1
                    if Int64(reservoir.count) < size {
                        try budget.add(Values.estimatedSize(doc))
                        reservoir.append(doc)
                    } else {
                        let j = Int64.random(in: 0..<seen, using: &ctx.environment.random)
                        if j < size { reservoir[Int(j)] = doc }
                    }
                }
                reservoir.shuffle(using: &ctx.environment.random)
                return reservoir
            }
        }
    }
}

/// A plugin stage: validated at creation, run over its whole input as one batch.
enum PluginStage {
    static func compile(_ op: MQLStageOperator, _ s: StageInput) throws -> StageOpen {
        if let validate = op.validate {
            do { try validate(s.spec) } catch { throw mqlError(op.name, "invalid specification: \(pluginMessage(error))") }
        }
        let spec = s.spec
        let run = op.run
        let name = op.name
        return { upstream, ctx in
            BlockingSource {
                var budget = MemoryBudget(limit: ctx.environment.options.memoryLimitBytes, stage: name)
                let docs = try budget.drain(upstream)
                do { return try run(spec, docs) } catch { throw mqlError(name, pluginMessage(error)) }
            }
        }
    }
}
