/// Buckets policies by their scope so a request only evaluates policies that can apply.
///
/// The index over-approximates (for `is T in E` it only looks at `T`); the policy's own scope
/// expression, evaluated first, makes the exact decision.
struct PolicyIndex: Sendable {
    private var count = 0
    private var principal = ScopeBuckets()
    private var action = ScopeBuckets()
    private var resource = ScopeBuckets()

    mutating func insert(_ policy: Policy, at position: Int) {
        count = max(count, position + 1)
        principal.insert(policy.principal, position)
        resource.insert(policy.resource, position)
        switch policy.action {
        case .any: action.unconstrained.insert(position)
        case .equal(let uid): action.equal[uid, default: []].append(position)
        case .memberOf(let uid): action.memberOf[uid, default: []].append(position)
        case .memberOfAny(let uids):
            for uid in Set(uids) { action.memberOf[uid, default: []].append(position) }
        }
    }

    /// Calls `body` with the position of each policy whose scope may match, in policy order.
    func forEachCandidate(for request: Request, entities: Entities, _ body: (Int) -> Void) {
        var matches = principal.matches(request.principal, entities: entities, count: count)
        matches.formIntersection(action.matches(request.action, entities: entities, count: count))
        matches.formIntersection(resource.matches(request.resource, entities: entities, count: count))
        matches.forEach(body)
    }
}

/// The buckets for one of principal, action or resource.
private struct ScopeBuckets: Sendable {
    var unconstrained = Bitset()
    var equal: [EntityUID: [Int]] = [:]
    var memberOf: [EntityUID: [Int]] = [:]
    var byType: [EntityType: [Int]] = [:]

    mutating func insert(_ constraint: ScopeConstraint, _ position: Int) {
        switch constraint {
        case .any, .equal(.slot), .memberOf(.slot): unconstrained.insert(position)
        case .equal(.uid(let uid)): equal[uid, default: []].append(position)
        case .memberOf(.uid(let uid)): memberOf[uid, default: []].append(position)
        case .isType(let type), .isTypeMemberOf(let type, _): byType[type, default: []].append(position)
        }
    }

    func matches(_ uid: EntityUID, entities: Entities, count: Int) -> Bitset {
        var result = unconstrained
        result.reserve(count)
        equal[uid]?.forEach { result.insert($0) }
        byType[uid.type]?.forEach { result.insert($0) }
        guard !memberOf.isEmpty else { return result }
        memberOf[uid]?.forEach { result.insert($0) }
        for ancestor in entities.ancestors(of: uid) {
            memberOf[ancestor]?.forEach { result.insert($0) }
        }
        return result
    }
}

/// A growable set of small non-negative integers.
struct Bitset: Sendable {
    private var words: [UInt64] = []

    mutating func reserve(_ count: Int) {
        let needed = (count + 63) / 64
        if words.count < needed { words.append(contentsOf: repeatElement(0, count: needed - words.count)) }
    }

    mutating func insert(_ member: Int) {
        reserve(member + 1)
        words[member >> 6] |= 1 << UInt64(member & 63)
    }

    mutating func formIntersection(_ other: Bitset) {
        for index in words.indices {
            words[index] &= index < other.words.count ? other.words[index] : 0
        }
    }

    func forEach(_ body: (Int) -> Void) {
        for (index, word) in words.enumerated() {
            var remaining = word
            while remaining != 0 {
                body(index << 6 + remaining.trailingZeroBitCount)
                remaining &= remaining - 1
            }
        }
    }
}
