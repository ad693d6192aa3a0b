import FerryBSON

/// Stages that run pipelines of their own: `$facet` and `$lookup`.
enum SubPipelineStages {
    /// Re-labels an error from a sub-pipeline so it names the outer stage and the inner one.
    static func nested(_ error: MQLError, outer s: StageInput, context: String) -> MQLError {
        nested(error, index: s.index, name: s.name, context: context)
    }

    static func nested(_ error: MQLError, index: Int, name: String, context: String) -> MQLError {
        var message = context
        if let index = error.stageIndex {
            message += ", stage \(index)"
            if let name = error.stageName { message += " (\(name))" }
        }
        message += ": " + (error.operatorName.map { error.message.contains($0) ? error.message : "\($0): \(error.message)" } ?? error.message)
        return MQLError(stageIndex: index, stageName: name, operatorName: error.operatorName, message: message)
    }

    static func stageList(_ v: BSON, what: String) throws -> [BSONDocument] {
        guard case .array(let a) = v else { throw mqlError(nil, "\(what) must be an array of stages, found \(Values.typeName(v))") }
        return try a.enumerated().map { i, stage in
            guard case .document(let d) = stage else {
                throw mqlError(nil, "\(what): stage \(i) must be an object, found \(Values.typeName(stage))")
            }
            return d
        }
    }

    // MARK: $facet

    static func compileFacet(_ s: StageInput) throws -> StageOpen {
        guard case .document(let d) = s.spec else {
            throw mqlError("$facet", "argument to $facet stage must be an object, found \(Values.typeName(s.spec))")
        }
        if d.isEmpty { throw mqlError("$facet", "the $facet specification must be a non-empty object") }
        var facets: [(String, CompiledPipeline)] = []
        for element in d.elements {
            let name = element.key
            if name.isEmpty || name.hasPrefix("$") || name.contains(".") {
                throw mqlError("$facet", "facet name '\(name)' must be non-empty, not start with '$' and not contain '.'")
            }
            let stages = try stageList(element.value, what: "facet '\(name)'")
            if stages.isEmpty { throw mqlError("$facet", "facet '\(name)' must have at least one stage") }
            do {
                facets.append((name, try CompiledPipeline.compile(stages, s.compiler, inFacet: true)))
            } catch let e as MQLError {
                throw nested(e, outer: s, context: "in facet '\(name)'")
            }
        }
        let compiledFacets = facets
        let index = s.index
        return { upstream, ctx in
            BlockingSource {
                var budget = MemoryBudget(limit: ctx.environment.options.memoryLimitBytes, stage: "$facet")
                let docs = try budget.drain(upstream)
                var out = BSONDocument()
                for (name, pipeline) in compiledFacets {
                    do {
                        let results = try pipeline.collect(ArraySource(docs), ctx.child())
                        out.append(name, .array(results.map(BSON.document)))
                    } catch let e as MQLError {
                        throw nested(e, index: index, name: "$facet", context: "in facet '\(name)'")
                    }
                }
                return [out]
            }
        }
    }

    // MARK: $lookup

    static func compileLookup(_ s: StageInput) throws -> StageOpen {
        let stage = "$lookup"
        guard case .document(let d) = s.spec else {
            throw mqlError(stage, "the $lookup specification must be an object, found \(Values.typeName(s.spec))")
        }
        for key in d.keys where !["from", "localField", "foreignField", "as", "let", "pipeline"].contains(key) {
            throw mqlError(stage, "unknown argument to $lookup: \(key)")
        }
        guard case .string(let from)? = d["from"], !from.isEmpty else {
            throw mqlError(stage, "$lookup requires 'from', the collection to join, as a non-empty string")
        }
        guard case .string(let asText)? = d["as"] else { throw mqlError(stage, "$lookup requires an 'as' field name string") }
        let asPath = try FieldPath(asText, op: stage, what: "'as'").components
        var equality: (local: [String], foreign: [String])?
        switch (d["localField"], d["foreignField"]) {
        case (nil, nil): break
        case (.string(let l)?, .string(let f)?):
            equality = (try FieldPath(l, op: stage, what: "localField").components, try FieldPath(f, op: stage, what: "foreignField").components)
        case (nil, _), (_, nil):
            throw mqlError(stage, "$lookup needs both 'localField' and 'foreignField', or neither (with 'pipeline')")
        default:
            throw mqlError(stage, "$lookup's 'localField' and 'foreignField' must be strings")
        }
        var subPipeline: CompiledPipeline?
        var letVariables: [(Int, EvalFunction)] = []
        if let pipelineSpec = d["pipeline"] {
            var bindings: [String: Int] = [:]
            if let letSpec = d["let"] {
                guard case .document(let lets) = letSpec else { throw mqlError(stage, "$lookup's 'let' must be an object") }
                for element in lets.elements {
                    try ExprCompiler.validateVariableName(element.key, op: stage)
                    let slot = s.compiler.newSlot()
                    letVariables.append((slot, try s.compiler.compile(element.value).eval))
                    bindings[element.key] = slot
                }
            }
            let stages = try stageList(pipelineSpec, what: "$lookup's pipeline")
            do {
                subPipeline = try s.compiler.withScope(bindings) { try CompiledPipeline.compile(stages, s.compiler, inFacet: false) }
            } catch let e as MQLError {
                throw nested(e, outer: s, context: "in the $lookup pipeline")
            }
        } else {
            if d["let"] != nil { throw mqlError(stage, "$lookup's 'let' needs a 'pipeline'") }
            if equality == nil { throw mqlError(stage, "$lookup needs 'localField' and 'foreignField', or a 'pipeline'") }
        }
        let lets = letVariables
        let sub = subPipeline
        let join = equality
        let stageIndex = s.index
        return { upstream, ctx in
            var foreign: [BSONDocument]?
            var index: [GroupKey: [Int]]?
            func loadForeign() throws -> [BSONDocument] {
                if let foreign { return foreign }
                guard let resolve = ctx.environment.lookup else {
                    throw mqlError(stage, "$lookup from '\(from)' needs a collection resolver; pass one in MQLContext(lookup:)")
                }
                let docs = try resolve(from)
                foreign = docs
                return docs
            }
            return MapSource(upstream) { doc in
                let all = try loadForeign()
                var matches: [BSONDocument]
                if let equality = join {
                    if index == nil {
                        var built: [GroupKey: [Int]] = [:]
                        for (i, f) in all.enumerated() {
                            var keys = Set<GroupKey>()
                            _ = QueryPath.any(f, equality.foreign, expand: true) { v in
                                keys.insert(GroupKey(Values.isNullish(v) ? .null : v))
                                return false
                            }
                            for k in keys { built[k, default: []].append(i) }
                        }
                        index = built
                    }
                    var localValues: [BSON] = []
                    let local = FieldPath.evaluate(equality.local, from: 0, in: doc)
                    switch local {
                    case .array(let elements)?: localValues = elements.isEmpty ? [] : elements
                    case nil, .null?, .undefined?: localValues = [.null]
                    case let v?: localValues = [v]
                    }
                    var hits = Set<Int>()
                    for v in localValues {
                        for i in index![GroupKey(Values.isNullish(v) ? .null : v)] ?? [] { hits.insert(i) }
                    }
                    matches = hits.sorted().map { all[$0] }
                } else {
                    matches = all
                }
                if let sub {
                    ctx.setDocument(doc)
                    let child = ctx.child()
                    for (slot, e) in lets { child.variables[slot] = try e(ctx) }
                    do {
                        matches = try sub.collect(ArraySource(matches), child)
                    } catch let e as MQLError {
                        throw nested(e, index: stageIndex, name: "$lookup", context: "in the $lookup pipeline")
                    }
                }
                var out = doc
                out.setPath(ArraySlice(asPath), .array(matches.map(BSON.document)))
                return out
            }
        }
    }
}
