/// The record ranges of one capture file already applied, kept sorted, disjoint and coalesced
/// (`[0, 10)` and `[10, 20)` become `[0, 20)`), so a file uploaded in order is a single range.
package struct IngestRanges: Hashable {
    package private(set) var ranges: [Range<Int>]

    package init(_ ranges: [Range<Int>] = []) {
        self.ranges = []
        for range in ranges { add(range) }
    }

    package func contains(_ record: Int) -> Bool {
        // Few ranges per file in practice; a binary search keeps pathological upload orders cheap.
        var low = 0
        var high = ranges.count
        while low < high {
            let mid = (low + high) / 2
            if ranges[mid].upperBound <= record {
                low = mid + 1
            } else if ranges[mid].lowerBound > record {
                high = mid
            } else {
                return true
            }
        }
        return false
    }

    package mutating func add(_ range: Range<Int>) {
        guard !range.isEmpty else { return }
        var merged = range
        var kept: [Range<Int>] = []
        kept.reserveCapacity(ranges.count + 1)
        for existing in ranges {
            if existing.upperBound < merged.lowerBound || existing.lowerBound > merged.upperBound {
                kept.append(existing)
            } else {
                merged = min(existing.lowerBound, merged.lowerBound)..<max(existing.upperBound, merged.upperBound)
            }
        }
        let index = kept.firstIndex { $0.lowerBound > merged.lowerBound } ?? kept.endIndex
        kept.insert(merged, at: index)
        ranges = kept
    }
}
