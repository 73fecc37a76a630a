/// The name of an entity type, such as `User` or `Acme::Photo`.
public struct EntityType: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The fully qualified name, path components joined by `::`.
    public let name: String

    /// Creates an entity type from its fully qualified name.
    public init(_ name: String) {
        self.name = name
    }

    public var description: String { name }

    /// Whether entities of this type are actions (the last path component is `Action`).
    public var isAction: Bool { name == "Action" || name.hasSuffix("::Action") }

    public static func < (lhs: EntityType, rhs: EntityType) -> Bool { lhs.name < rhs.name }
}
