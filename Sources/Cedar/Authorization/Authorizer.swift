/// Decides requests: forbid overrides permit, and anything not permitted is denied.
public enum Authorizer {
    /// Evaluates the policies whose scope can match the request and combines their results.
    public static func isAuthorized(_ request: Request, policies: PolicySet, entities: Entities) -> Response {
        let evaluator = Evaluator(request: request, entities: entities)
        var permits: [PolicyID] = []
        var forbids: [PolicyID] = []
        var errors: [EvaluationError] = []
        policies.index.forEachCandidate(for: request, entities: entities) { position in
            let policy = policies.policies[position]
            do throws(EvaluationFailure) {
                guard try evaluator.boolean(evaluator.evaluate(policy.condition)) else { return }
                if policy.effect == .permit {
                    permits.append(policy.id)
                } else {
                    forbids.append(policy.id)
                }
            } catch {
                errors.append(EvaluationError(policyID: policy.id, code: error.code, message: error.message))
            }
        }
        if !forbids.isEmpty {
            return Response(decision: .deny, determiningPolicies: forbids, errors: errors)
        }
        return Response(decision: permits.isEmpty ? .deny : .allow, determiningPolicies: permits, errors: errors)
    }
}
