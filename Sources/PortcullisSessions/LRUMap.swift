/// A dictionary that remembers use order: lookups and inserts are O(1), and it can drop its least recently used
/// entry in O(1). Slots live in arrays linked by index, so entries cost no allocation of their own.
struct LRUMap<Key: Hashable, Value> {
    private struct Slot {
        var key: Key
        /// `nil` in a free slot: what was removed is released at once, not when the slot is reused.
        var value: Value?
        var newer: Int?
        var older: Int?
    }

    private var index: [Key: Int] = [:]
    private var slots: [Slot] = []
    private var freeSlots: [Int] = []
    private var newest: Int?
    private var oldest: Int?

    var count: Int { index.count }

    /// The value for `key`, marking it most recently used.
    mutating func touch(_ key: Key) -> Value? {
        guard let slot = index[key] else { return nil }
        moveToFront(slot)
        return slots[slot].value!
    }

    /// The value for `key` without changing the use order.
    func peek(_ key: Key) -> Value? {
        index[key].map { slots[$0].value! }
    }

    /// Sets the value for `key` and marks it most recently used.
    mutating func set(_ key: Key, _ value: Value) {
        if let slot = index[key] {
            slots[slot].value = value
            moveToFront(slot)
            return
        }
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
            slots[slot] = Slot(key: key, value: value, newer: nil, older: nil)
        } else {
            slot = slots.count
            slots.append(Slot(key: key, value: value, newer: nil, older: nil))
        }
        index[key] = slot
        linkAtFront(slot)
    }

    /// Changes the value for `key` in place, without changing the use order. Returns `false` if absent.
    @discardableResult
    mutating func update(_ key: Key, _ change: (inout Value) -> Void) -> Bool {
        guard let slot = index[key] else { return false }
        change(&slots[slot].value!)
        return true
    }

    @discardableResult
    mutating func remove(_ key: Key) -> Value? {
        guard let slot = index.removeValue(forKey: key) else { return nil }
        unlink(slot)
        freeSlots.append(slot)
        defer { slots[slot].value = nil }
        return slots[slot].value!
    }

    /// The least recently used entry, without removing it.
    var leastRecentlyUsed: (key: Key, value: Value)? {
        oldest.map { (slots[$0].key, slots[$0].value!) }
    }

    /// Every entry, least recently used first.
    func entriesFromOldest() -> [(key: Key, value: Value)] {
        var result: [(key: Key, value: Value)] = []
        result.reserveCapacity(count)
        var cursor = oldest
        while let slot = cursor {
            result.append((slots[slot].key, slots[slot].value!))
            cursor = slots[slot].newer
        }
        return result
    }

    private mutating func moveToFront(_ slot: Int) {
        guard newest != slot else { return }
        unlink(slot)
        linkAtFront(slot)
    }

    private mutating func linkAtFront(_ slot: Int) {
        slots[slot].older = newest
        slots[slot].newer = nil
        if let newest { slots[newest].newer = slot }
        newest = slot
        if oldest == nil { oldest = slot }
    }

    private mutating func unlink(_ slot: Int) {
        let newer = slots[slot].newer
        let older = slots[slot].older
        if let newer { slots[newer].older = older } else { newest = older }
        if let older { slots[older].newer = newer } else { oldest = newer }
        slots[slot].newer = nil
        slots[slot].older = nil
    }
}
