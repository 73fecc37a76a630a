/// An error building or linking a policy set.
public struct PolicySetError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Stable identifiers for the kinds of policy set errors.
    public enum Code: String, Sendable {
        case duplicatePolicyID
        case unknownTemplate
        case notATemplate
        case missingSlot
        case unexpectedSlot
    }

    /// The kind of error.
    public let code: Code
    /// What went wrong.
    public let message: String

    public var description: String { message }
}
