/// A Cedar schema: the entity types, their attributes and hierarchy, and the actions
/// with the principals, resources and context each applies to.
public struct Schema: Sendable {
    struct EntityTypeDefinition: Sendable {
        var attributes: RecordType
        /// Types an entity of this type may have as parents.
        var memberOf: Set<EntityType>
        /// `memberOf`, transitively.
        var ancestors: Set<EntityType>
        /// The type of tag values, or nil when the type has no tags.
        var tags: CedarType?
        /// For enumerated entity types, the only valid ids.
        var enumIDs: [String]?
    }

    struct ActionDefinition: Sendable {
        var principals: [EntityType]
        var resources: [EntityType]
        var context: RecordType
        var parents: Set<EntityUID>
        /// `parents`, transitively.
        var ancestors: Set<EntityUID>
    }

    let entityTypes: [EntityType: EntityTypeDefinition]
    let actions: [EntityUID: ActionDefinition]
    /// The entity types of declared actions, such as `Action` or `Acme::Action`.
    let actionTypes: Set<EntityType>

    /// The declared entity types, excluding action types.
    public var entityTypeNames: [EntityType] { entityTypes.keys.sorted() }

    /// The declared actions.
    public var actionIDs: [EntityUID] { actions.keys.sorted { $0.description < $1.description } }

    /// Whether `uid` names an entity the schema allows: an action, or an entity of a declared
    /// type whose id is valid for that type.
    func isValid(_ uid: EntityUID) -> Bool {
        if actions[uid] != nil { return true }
        guard let definition = entityTypes[uid.type] else { return false }
        return definition.enumIDs?.contains(uid.id) ?? true
    }

    /// Whether entities of type `descendant` can be `in` entities of type `ancestor`.
    func isDescendant(_ descendant: EntityType, of ancestor: EntityType) -> Bool {
        descendant == ancestor || (entityTypes[descendant]?.ancestors.contains(ancestor) ?? false)
    }

    /// Whether action `descendant` is `in` action `ancestor`.
    func isDescendant(action descendant: EntityUID, of ancestor: EntityUID) -> Bool {
        descendant == ancestor || (actions[descendant]?.ancestors.contains(ancestor) ?? false)
    }
}
