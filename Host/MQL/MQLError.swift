/// Why a pipeline was refused or failed: which stage (0-based index into the pipeline), which
/// operator, and what was wrong.
///
/// `description` reads like `stage 2 ($group): accumulator $avgg is unknown; did you mean $avg?`.
public struct MQLError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The 0-based index of the stage in the pipeline, when the error belongs to one.
    public var stageIndex: Int?
    /// The stage name, when known (`$group`).
    public var stageName: String?
    /// The operator (expression, accumulator, query or window operator) at fault, when there is one.
    public var operatorName: String?
    /// What was wrong and, where it helps, what to do.
    public var message: String

    public init(stageIndex: Int? = nil, stageName: String? = nil, operatorName: String? = nil, message: String) {
        self.stageIndex = stageIndex
        self.stageName = stageName
        self.operatorName = operatorName
        self.message = message
    }

    public var description: String {
        var prefix = ""
        if let stageIndex {
            prefix = "stage \(stageIndex)"
            if let stageName { prefix += " (\(stageName))" }
            prefix += ": "
        }
        if let operatorName, !message.contains(operatorName) {
            return prefix + "\(operatorName): " + message
        }
        return prefix + message
    }

    /// Fills in the stage when the error was raised below the stage level.
    func inStage(_ index: Int, _ name: String) -> MQLError {
        var copy = self
        if copy.stageIndex == nil {
            copy.stageIndex = index
            copy.stageName = name
        }
        return copy
    }
}

/// Shorthand used throughout the engine.
@inline(__always)
func mqlError(_ op: String?, _ message: String) -> MQLError {
    MQLError(operatorName: op, message: message)
}

/// "did you mean" support: the closest known name within a small edit distance.
func suggestion(for name: String, among candidates: some Sequence<String>) -> String? {
    let target = Array(name.lowercased().unicodeScalars)
    var best: (String, Int)?
    for candidate in candidates {
        let c = Array(candidate.lowercased().unicodeScalars)
        let d = editDistance(target, c)
        if d <= max(1, min(3, target.count / 3)), best == nil || d < best!.1 || (d == best!.1 && candidate < best!.0) {
            best = (candidate, d)
        }
    }
    return best?.0
}

func unknownNameMessage(kind: String, name: String, among candidates: some Sequence<String>) -> String {
    if let s = suggestion(for: name, among: candidates) {
        return "\(kind) \(name) is unknown; did you mean \(s)?"
    }
    return "\(kind) \(name) is unknown"
}

private func editDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
