import Foundation

/// Per-item work of an upload batch, spread over the cores: the data server converts each
/// reading while the uploader waits for its answer, so a large batch is cut into slices converted
/// at once and given back in order.
package enum Slices {
    /// `body` of each slice of `0..<count` (at least `sliceSize` items each, at most one slice per
    /// core), in order. The error is the one the first failing slice in order throws, as one pass
    /// over the items would throw it; a batch too small to cut runs in the caller's task.
    package static func map<Part: Sendable, Failure: Error>(
        count: Int, sliceSize: Int = 250, _ body: @escaping @Sendable (Range<Int>) throws(Failure) -> Part
    ) async throws(Failure) -> [Part] {
        let slices = min(ProcessInfo.processInfo.activeProcessorCount, count / max(1, sliceSize))
        guard slices > 1 else { return [try body(0..<count)] }
        let step = (count + slices - 1) / slices
        let parts = await withTaskGroup(of: (Int, Result<Part, Failure>).self) { group in
            var made = 0
            for start in stride(from: 0, to: count, by: step) {
                let index = made
                made += 1
                group.addTask {
                    do throws(Failure) {
                        return (index, .success(try body(start..<min(count, start + step))))
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            var parts: [Result<Part, Failure>?] = Array(repeating: nil, count: made)
            for await (index, part) in group { parts[index] = part }
            return parts
        }
        var results: [Part] = []
        results.reserveCapacity(parts.count)
        for part in parts {
            switch part {
            case .success(let value)?: results.append(value)
            case .failure(let error)?: throw error
            case nil: preconditionFailure("every slice's task gives its part")
            }
        }
        return results
    }
}
