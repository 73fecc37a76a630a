/// The unique identifier of an entity: its type plus an id string, written `User::"alice"`.
public struct EntityUID: Hashable, Sendable, CustomStringConvertible {
    /// The entity's type.
    public let type: EntityType
    /// The entity's id within its type.
    public let id: String

    /// Creates an identifier from a type and an id.
    public init(type: EntityType, id: String) {
        self.type = type
        self.id = id
    }

    /// Creates an identifier from a type name and an id, as in `EntityUID("User", "alice")`.
    public init(_ typeName: String, _ id: String) {
        self.init(type: EntityType(typeName), id: id)
    }

    public var description: String { "\(type.name)::\(quotedCedarString(id))" }
}
