/// An immutable store of entities with every entity's ancestors computed once, up front,
/// so that `in` is a set lookup.
public struct Entities: Sendable {
    private let storage: [EntityUID: Entity]
    private let ancestorSets: [EntityUID: Set<EntityUID>]

    /// An empty store.
    public init() {
        storage = [:]
        ancestorSets = [:]
    }

    /// Builds a store; two entities with the same uid are an error.
    public init(_ entities: some Sequence<Entity>) throws(EntitiesError) {
        var storage: [EntityUID: Entity] = [:]
        for entity in entities {
            guard storage.updateValue(entity, forKey: entity.uid) == nil else {
                throw EntitiesError(code: .duplicateEntity, message: "entity `\(entity.uid)` is defined more than once")
            }
        }
        self.storage = storage
        self.ancestorSets = Self.closure(of: storage)
    }

    /// The entity with this uid, if present.
    public subscript(uid: EntityUID) -> Entity? { storage[uid] }

    /// All entities, in no particular order.
    public var all: some Collection<Entity> { storage.values }

    /// The number of entities.
    public var count: Int { storage.count }

    /// Every ancestor of `uid` (parents, their parents, …), excluding `uid` itself unless on a cycle.
    public func ancestors(of uid: EntityUID) -> Set<EntityUID> { ancestorSets[uid] ?? [] }

    /// Whether `uid in group` holds: the same entity, or `group` is an ancestor.
    public func isDescendant(_ uid: EntityUID, of group: EntityUID) -> Bool {
        uid == group || (ancestorSets[uid]?.contains(group) ?? false)
    }

    /// Computes each entity's ancestors; finished sets are reused so shared hierarchies are walked once.
    private static func closure(of storage: [EntityUID: Entity]) -> [EntityUID: Set<EntityUID>] {
        var done: [EntityUID: Set<EntityUID>] = [:]
        for uid in storage.keys where done[uid] == nil {
            var ancestors: Set<EntityUID> = []
            var pending = Array(storage[uid]!.parents)
            while let next = pending.popLast() {
                guard ancestors.insert(next).inserted else { continue }
                if let known = done[next] {
                    ancestors.formUnion(known)
                } else if let parent = storage[next] {
                    pending.append(contentsOf: parent.parents)
                }
            }
            done[uid] = ancestors
        }
        return done
    }
}
