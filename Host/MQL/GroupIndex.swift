import FerryBSON

/// Group keys → dense group numbers, in the order first seen, with MongoDB's equality
/// (`GroupKey`'s). An open-addressing table that keeps each key's hash beside it, so a probe
/// compares two integers before it ever compares two values; a `Dictionary<GroupKey, Int>`
/// compares the full keys at every slot it probes and hashes a new key twice (lookup, insert).
struct GroupIndex {
    /// The keys, by group number.
    private(set) var keys: [BSON] = []
    private var hashes: [Int] = []
    /// For object keys (`findOrInsert(parts:names:)`): each group's field values, `arity` per
    /// group, `nil` where a field was missing (and so left out of the key document).
    private var parts: [BSON?] = []
    /// Group number + 1 per slot; 0 is empty. The count is a power of two.
    private var slots: [Int32]
    private var mask: Int

    init(capacity: Int = 16) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [Int32](repeating: 0, count: size)
        mask = size - 1
    }

    var count: Int { keys.count }

    /// The group number of `key`, adding it when new.
    @inline(__always)
    mutating func findOrInsert(_ key: BSON) -> (group: Int, inserted: Bool) {
        let hash = GroupKey.hash(key)
        var slot = hash & mask
        while true {
            let entry = Int(slots[slot])
            if entry == 0 { break }
            let group = entry - 1
            if hashes[group] == hash, BSONOrder.compare(keys[group], key) == 0 { return (group, false) }
            slot = (slot + 1) & mask
        }
        let group = keys.count
        precondition(group < Int(Int32.max), "more groups than a $group can number")
        keys.append(key)
        hashes.append(hash)
        slots[slot] = Int32(group + 1)
        if keys.count * 2 > slots.count { grow() }
        return (group, true)
    }

    /// The group number of the object key `{names[0]: values[0], …}` (a missing value left out
    /// of it), adding it when new. Compared value by value, so a row's key document is built only
    /// when its group is new. Two such keys are equal exactly when their documents are: the names
    /// are the same for every row, so equal documents have the same values present, equal in order.
    /// Not to be mixed with `findOrInsert(_:)` on one index.
    @inline(__always)
    mutating func findOrInsert(values: [BSON?], names: [String]) -> (group: Int, inserted: Bool) {
        let arity = values.count
        var hasher = Hasher()
        // By index, not for-in: the iterator would copy (retain) each value.
        for i in 0..<arity { GroupKey.hashValue(values[i], into: &hasher) }
        let hash = hasher.finalize()
        var slot = hash & mask
        probing: while true {
            let entry = Int(slots[slot])
            if entry == 0 { break }
            let group = entry - 1
            slot = (slot + 1) & mask
            guard hashes[group] == hash else { continue }
            let base = group * arity
            for i in 0..<arity where !Self.samePart(parts[base + i], values[i]) { continue probing }
            return (group, false)
        }
        let group = keys.count
        precondition(group < Int(Int32.max), "more groups than a $group can number")
        var key = BSONDocument()
        key.elements.reserveCapacity(arity)
        for i in 0..<arity {
            if let value = values[i] { key.elements.append(BSONElement(names[i], value)) }
        }
        keys.append(.document(key))
        parts.append(contentsOf: values)
        hashes.append(hash)
        slots[slot] = Int32(group + 1)
        if keys.count * 2 > slots.count { grow() }
        return (group, true)
    }

    /// Both missing, or both present and equal. Borrowed, not matched as a tuple (which copies both).
    @inline(__always)
    private static func samePart(_ a: BSON?, _ b: BSON?) -> Bool {
        guard let a else { return b == nil }
        guard let b else { return false }
        return BSONOrder.compare(a, b) == 0
    }

    private mutating func grow() {
        let size = slots.count * 2
        var fresh = [Int32](repeating: 0, count: size)
        let newMask = size - 1
        for (group, hash) in hashes.enumerated() {
            var slot = hash & newMask
            while fresh[slot] != 0 { slot = (slot + 1) & newMask }
            fresh[slot] = Int32(group + 1)
        }
        slots = fresh
        mask = newMask
    }
}
