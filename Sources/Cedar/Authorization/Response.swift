/// The result of authorizing a request.
public struct Response: Hashable, Sendable {
    /// Allow or deny.
    public enum Decision: String, Hashable, Sendable {
        case allow
        case deny
    }

    /// The decision.
    public let decision: Decision
    /// The satisfied forbids when a forbid denied, the satisfied permits when allowed,
    /// and empty on the default deny.
    public let determiningPolicies: [PolicyID]
    /// The policies that failed to evaluate; each was skipped.
    public let errors: [EvaluationError]

    public init(decision: Decision, determiningPolicies: [PolicyID], errors: [EvaluationError]) {
        self.decision = decision
        self.determiningPolicies = determiningPolicies
        self.errors = errors
    }
}
