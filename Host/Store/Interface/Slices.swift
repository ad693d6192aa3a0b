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

/// Parts of `0..<count` made on all cores at once and taken in order by one consumer that may
/// block: a store's writer, inside its transaction, writes the first parts while the rest are
/// made. Workers take the earliest part not yet made, so the one the consumer waits for is always
/// the next to be done.
package final class OrderedSlices<Part: Sendable>: @unchecked Sendable {
    // @unchecked: `parts`, `nextToMake`, `abandoned` and `working` are read and written only with `condition` locked.
    private let condition = NSCondition()
    private let ranges: [Range<Int>]
    private var parts: [Result<Part, any Error>?]
    private var nextToMake = 0
    private var abandoned = false
    private var working: Int

    package var count: Int { ranges.count }

    package init(count: Int, sliceSize: Int, _ make: @escaping @Sendable (Range<Int>) throws -> Part) {
        let size = max(1, sliceSize)
        ranges = stride(from: 0, to: count, by: size).map { $0..<min(count, $0 + size) }
        parts = Array(repeating: nil, count: ranges.count)
        let workers = min(ProcessInfo.processInfo.activeProcessorCount, ranges.count)
        working = workers
        // Worker threads of Dispatch's pool rather than tasks: the consumer blocks a thread while it
        // waits, and must never wait for work queued behind threads blocked like it.
        for _ in 0..<workers {
            DispatchQueue.global(qos: .userInitiated).async { [self] in
                while let index = claim() {
                    let part = Result { try make(ranges[index]) }
                    condition.withLock {
                        parts[index] = part
                        condition.broadcast()
                    }
                }
                condition.withLock {
                    working -= 1
                    condition.broadcast()
                }
            }
        }
    }

    private func claim() -> Int? {
        condition.withLock {
            guard !abandoned, nextToMake < ranges.count else { return nil }
            defer { nextToMake += 1 }
            return nextToMake
        }
    }

    /// Part `index` with the range it covers, once made; blocks until then. Throws what making it threw.
    package func take(_ index: Int) throws -> (range: Range<Int>, part: Part) {
        let part = condition.withLock {
            while parts[index] == nil { condition.wait() }
            defer { parts[index] = nil }  // the consumer owns it now: let it go when the consumer does
            return parts[index]!
        }
        return (ranges[index], try part.get())
    }

    /// No part not yet begun is made: for a consumer that stops early.
    package func abandon() { condition.withLock { abandoned = true } }

    /// Blocks until every worker has stopped: once every part is made, or after `abandon()`, when
    /// the parts begun are. The consumer's call then leaves nothing running behind it.
    package func waitForWorkers() {
        condition.withLock {
            while working > 0 { condition.wait() }
        }
    }
}
