/// A reason a policy or request does not fit the schema.
public struct ValidationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Stable identifiers for the kinds of validation errors.
    public enum Code: String, Sendable {
        case unrecognizedEntityType
        case unrecognizedActionID
        case invalidEnumEntity
        case invalidActionApplication
        case typeError
        case impossiblePolicy
        case invalidPrincipalType
        case invalidResourceType
        case invalidContext
    }

    /// The kind of error.
    public let code: Code
    /// The policy the error is about; nil for request errors.
    public let policyID: PolicyID?
    /// What is wrong.
    public let message: String

    public var description: String {
        policyID.map { "policy '\($0)': \(message)" } ?? message
    }
}
