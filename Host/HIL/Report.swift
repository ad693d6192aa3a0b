import FerryBSON

/// One check's outcome: passed or failed, and why, in a line a user can act on.
public struct ConformanceCheck: Sendable, Equatable {
    public var name: String
    public var passed: Bool
    public var detail: String

    public init(name: String, passed: Bool, detail: String) {
        (self.name, self.passed, self.detail) = (name, passed, detail)
    }
}

/// Everything `ferry hil` found about one model.
public struct ConformanceReport: Sendable, Equatable {
    public var subject: String
    public var api: String
    public var model: String
    public var checks: [ConformanceCheck] = []

    public var passed: Bool { !checks.isEmpty && checks.allSatisfy(\.passed) }
    public var failures: [ConformanceCheck] { checks.filter { !$0.passed } }

    public func check(_ name: String) -> ConformanceCheck? { checks.first { $0.name == name } }

    /// One line per check, then a summary line.
    public var text: String {
        let width = min(max(checks.map(\.name.count).max() ?? 0, 10), 40)
        var lines = ["ferry hil: \(subject)", "  \(api)  \(model)"]
        for check in checks {
            let name = check.name.padding(toLength: max(width, check.name.count), withPad: " ", startingAt: 0)
            lines.append("\(check.passed ? "PASS" : "FAIL")  \(name)  \(check.detail)")
        }
        let failed = failures.count
        lines.append("\(checks.count - failed) passed, \(failed) failed: \(passed ? "conforms" : "does NOT conform")")
        return lines.joined(separator: "\n")
    }

    public var document: BSONDocument {
        [
            "subject": .string(subject), "api": .string(api), "model": .string(model), "passed": .bool(passed),
            "checks": .array(
                checks.map { ["name": .string($0.name), "result": .string($0.passed ? "pass" : "fail"), "detail": .string($0.detail)] }),
        ]
    }
}
