import FerryBSON

/// One check's outcome: passed or failed, and why, in a line a user can act on.
package struct ConformanceCheck: Sendable, Equatable {
    package var name: String
    package var passed: Bool
    package var detail: String

    package init(name: String, passed: Bool, detail: String) {
        (self.name, self.passed, self.detail) = (name, passed, detail)
    }
}

/// Everything `ferry hil` found about one model.
package struct ConformanceReport: Sendable, Equatable {
    package var subject: String
    package var api: String
    package var model: String
    package var checks: [ConformanceCheck] = []

    package var passed: Bool { !checks.isEmpty && checks.allSatisfy(\.passed) }
    package var failures: [ConformanceCheck] { checks.filter { !$0.passed } }

    package func check(_ name: String) -> ConformanceCheck? { checks.first { $0.name == name } }

    /// One line per check, then a summary line.
    package var text: String {
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

    package var document: BSONDocument {
        [
            "subject": .string(subject), "api": .string(api), "model": .string(model), "passed": .bool(passed),
            "checks": .array(
                checks.map { ["name": .string($0.name), "result": .string($0.passed ? "pass" : "fail"), "detail": .string($0.detail)] }),
        ]
    }
}
