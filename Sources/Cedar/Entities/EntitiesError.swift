/// An error building an entity store.
public struct EntitiesError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Stable identifiers for the kinds of entity store errors.
    public enum Code: String, Sendable {
        case duplicateEntity
    }

    /// The kind of error.
    public let code: Code
    /// What went wrong.
    public let message: String

    public var description: String { message }
}
