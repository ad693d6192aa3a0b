/// Where a query reads: Viam's TabularDataSourceType (standard, hot storage, a pipeline's sink).
public enum QuerySource: Sendable, Hashable {
    case standard, hotStorage
    case pipelineSink(String)
}
