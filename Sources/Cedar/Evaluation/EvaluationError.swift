/// An error raised while evaluating one policy; the policy is skipped and the error reported.
public struct EvaluationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Stable identifiers for the kinds of evaluation errors.
    public enum Code: String, Sendable {
        case entityDoesNotExist
        case attributeNotFound
        case tagNotFound
        case typeError
        case overflow
        case extensionError
        case unlinkedSlot
    }

    /// The policy whose evaluation failed.
    public let policyID: PolicyID
    /// The kind of error.
    public let code: Code
    /// What went wrong.
    public let message: String

    public var description: String { "while evaluating policy '\(policyID)': \(message)" }
}

/// An evaluation error before it is attributed to a policy.
struct EvaluationFailure: Error {
    let code: EvaluationError.Code
    let message: String

    static func typeError(expected: String, got value: Value) -> EvaluationFailure {
        EvaluationFailure(code: .typeError, message: "type error: expected \(expected), got \(value.typeName)")
    }

    static func overflow(_ operation: String) -> EvaluationFailure {
        EvaluationFailure(code: .overflow, message: "integer overflow while attempting to \(operation)")
    }
}
