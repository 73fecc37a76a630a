/// An error reading Cedar's JSON formats (entities and request context).
public struct JSONError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Stable identifiers for the kinds of JSON errors.
    public enum Code: String, Sendable {
        case syntax
        case unexpectedShape
        case typeMismatch
        case invalidExtensionValue
        case duplicateEntity
    }

    /// The kind of error.
    public let code: Code
    /// What went wrong, naming the entity or attribute involved.
    public let message: String

    public var description: String { message }
}
