/// An entity: its uid, attributes, direct parents, and tags.
public struct Entity: Hashable, Sendable {
    /// The entity's identifier.
    public let uid: EntityUID
    /// The attributes, read with `.name` or `["name"]`.
    public var attributes: [String: Value]
    /// The direct parents; `in` also follows their ancestors.
    public var parents: Set<EntityUID>
    /// The tags, read with `.getTag("name")`.
    public var tags: [String: Value]

    /// Creates an entity.
    public init(uid: EntityUID, attributes: [String: Value] = [:], parents: Set<EntityUID> = [], tags: [String: Value] = [:]) {
        self.uid = uid
        self.attributes = attributes
        self.parents = parents
        self.tags = tags
    }
}
