public import Cedar

/// The answer to an ``AuthorizationRequest`` and everything needed to explain it later.
public struct AuthorizationDecision: Sendable {
    public let isAllowed: Bool
    /// The policies that decided: the satisfied forbids on a forbid, the satisfied permits on an allow, nothing
    /// on the default deny — or, when a forbid failed to evaluate, that forbid.
    public let determiningPolicies: [String]
    /// Policies that failed to evaluate; each was skipped.
    public let evaluationErrors: [EvaluationError]
    /// Whether an allow was turned into a deny because a forbid failed to evaluate (see ``PolicyEngine``).
    public let deniedByFailedForbid: Bool
    /// The digest of the policy set that decided.
    public let policySetDigest: String
    /// The Cedar request: principal, action, resource and context.
    public let request: Request
    let entities: [Entity]

    /// Policies that failed to evaluate, as `policy id: message`.
    public var errors: [String] { evaluationErrors.map { "\($0.policyID): \($0.message)" } }

    /// The decision as a Cedar response (after the gateway's failed-forbid rule).
    public var response: Response {
        Response(decision: isAllowed ? .allow : .deny, determiningPolicies: determiningPolicies.map { PolicyID($0) }, errors: evaluationErrors)
    }

    /// The request in Cedar's request JSON, which `Request(json:)` reads back.
    public var requestJSON: String { CedarJSON.text(of: request) }

    /// The request's entities in Cedar's entities JSON.
    public var entitiesJSON: String { CedarJSON.text(of: entities) }
}
