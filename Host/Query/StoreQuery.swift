import FerryBSON
import FerryMQL
import FerryStore

/// An MQL query over one organisation's data, validated and planned once. The store runs the
/// leading `$match` on stored columns (translated by `MatchPushdown`, so on indexes), a following
/// `$sort` on `time_received` alone (the store's own order), and a `$limit` after those when
/// nothing is left of the match; the MQL engine runs the rest. TabularDataByMQL (`run`) and the
/// MongoDB endpoint's cursors (`stream`) share this plan, so both see the same pushdown, limits
/// and plugin operators.
public struct StoreQuery: Sendable {
    public let stages: [BSONDocument]
    let pipeline: MQLPipeline
    let operators: MQLOperatorRegistry

    /// Throws `MQLError` (naming the stage and operator) for a pipeline the engine refuses.
    public init(stages: [BSONDocument], operators: MQLOperatorRegistry) throws {
        self.stages = stages
        self.operators = operators
        self.pipeline = try MQLPipeline(stages: stages, registry: operators)
    }

    /// What the store does for a readings source, and what is left for the engine.
    struct ReadingPlan {
        var filter = ReadingFilter.all
        var descending = false
        /// Rows the store may stop after (only when the engine filters nothing before the limit).
        var limit: Int?
        /// The part of the leading `$match` SQL cannot express; runs first in the engine.
        var residual: MQLPipeline?
        var rest: MQLPipeline
    }

    func readingPlan() throws -> ReadingPlan {
        var consumed = 0
        while consumed < stages.count, stages[consumed].count == 1, stages[consumed].keys.first == "$match" { consumed += 1 }
        var plan = ReadingPlan(rest: pipeline)
        if consumed > 0, let match = pipeline.pushdown.match {
            let (filter, residual) = MatchPushdown.split(match)
            plan.filter = filter
            if let residual {
                plan.residual = try MQLPipeline(stages: [["$match": .document(residual)]], registry: operators)
            }
        }
        if consumed < stages.count, let descending = Self.timeReceivedSort(stages[consumed]) {
            plan.descending = descending
            consumed += 1
        }
        if plan.residual == nil, consumed < stages.count, stages[consumed].count == 1,
            let limit = stages[consumed]["$limit"]?.int64Value, limit > 0, limit <= Int64(Int.max)
        {
            plan.limit = Int(limit)
            consumed += 1
        }
        plan.rest = try pipeline.droppingLeadingStages(consumed)
        return plan
    }

    /// Conditions of the leading `$match` on a sink's document paths, which let the store read
    /// through a custom index on the sink; the whole pipeline, `$match` included, still runs in
    /// the engine, so results are exact whatever the store reads.
    var sinkHints: [DataHint] {
        guard let match = pipeline.pushdown.match else { return [] }
        return MatchPushdown.documentHints(match)
    }

    /// For `{$sort: {time_received: 1 | -1}}`, whether it is descending; nil for any other stage.
    static func timeReceivedSort(_ stage: BSONDocument) -> Bool? {
        guard stage.count == 1, case .document(let spec)? = stage["$sort"], spec.count == 1, spec.keys.first == "time_received"
        else { return nil }
        switch spec["time_received"]?.int64Value {
        case 1: return false
        case -1: return true
        default: return nil
        }
    }

    /// Every result at once (TabularDataByMQL). Throws `MQLError` when the pipeline fails while
    /// running and `StoreError` when the store does.
    public func run(on store: any DataStore, organizationID: String, source: QuerySource) async throws -> [BSONDocument] {
        switch source {
        case .pipelineSink(let pipelineID):
            let documents = try await store.sinkDocuments(organizationID: organizationID, pipelineID: pipelineID, hints: sinkHints)
            return try pipeline.run(documents)
        case .standard, .hotStorage:
            let plan = try readingPlan()
            var documents = try await store.readings(
                organizationID: organizationID, source: source == .hotStorage ? .hotStorage : .standard, filter: plan.filter,
                sortByTimeDescending: plan.descending, limit: plan.limit, fields: pipeline.inputFields)
            if let residual = plan.residual { documents = try residual.run(documents) }
            return try plan.rest.run(documents)
        }
    }

    /// The results pulled lazily: readings are read from the store a page at a time as the engine
    /// asks for them, so a cursor over millions of readings holds one page (plus what blocking
    /// stages such as `$group` keep, within the engine's memory limit).
    public func stream(on store: any DataStore, organizationID: String, source: QuerySource, pageSize: Int = 2_000) throws
        -> QueryResultStream
    {
        switch source {
        case .pipelineSink(let pipelineID):
            let input = StoreInput.sink(store: store, organizationID: organizationID, pipelineID: pipelineID, hints: sinkHints)
            return QueryResultStream(input: input, stages: [pipeline])
        case .standard, .hotStorage:
            let plan = try readingPlan()
            let input = StoreInput.readings(
                store: store, organizationID: organizationID, source: source == .hotStorage ? .hotStorage : .standard,
                filter: plan.filter, descending: plan.descending, limit: plan.limit, pageSize: pageSize, fields: pipeline.inputFields)
            return QueryResultStream(input: input, stages: [plan.residual, plan.rest].compactMap { $0 })
        }
    }
}
