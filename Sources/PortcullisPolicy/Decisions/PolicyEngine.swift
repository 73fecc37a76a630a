public import Cedar
import Synchronization

/// The active policy set and the decisions made with it.
///
/// A request reads the set once, so a reload that swaps in a new set mid-request never mixes two sets in one
/// decision. The set is replaced only by a fully compiled ``PolicyBundle``.
///
/// One deliberate departure from plain Cedar, where a policy that fails to evaluate is skipped: when the only
/// thing between a request and an allow is a `forbid` that failed to evaluate (say, `context.sourceIp` missing),
/// the request is denied and that forbid is named as the reason. Guardrails fail closed.
public final class PolicyEngine: Sendable {
    private let active: Mutex<PolicyBundle>

    public init(_ bundle: PolicyBundle) {
        self.active = Mutex(bundle)
    }

    /// The set in force.
    public var current: PolicyBundle { active.withLock { $0 } }

    /// Puts `bundle` in force for every request that starts after this returns.
    public func activate(_ bundle: PolicyBundle) {
        active.withLock { $0 = bundle }
    }

    public func authorize(_ request: AuthorizationRequest) -> AuthorizationDecision {
        Self.decide(request, with: current)
    }

    /// The decision `bundle` gives for `request`.
    public static func decide(_ request: AuthorizationRequest, with bundle: PolicyBundle) -> AuthorizationDecision {
        let principal = PrincipalEntity.uid(of: request.principal)
        let resource = ResourceEntity.uid(of: request.resource)
        // A parent need not be an entity of its own for `in` to hold, so the principal, the resource and the
        // action (with their parents named) are the whole store: three entities to index per request.
        let entities = [PrincipalEntity.entity(of: request.principal), ResourceEntity.entity(of: request.resource)]
        let cedarRequest = Request(principal: principal, action: request.action.uid, resource: resource, context: RequestContext.values(of: request))
        let response: Response
        do {
            response = Authorizer.isAuthorized(cedarRequest, policies: bundle.policies, entities: try Entities(entities + [request.action.entity]))
        } catch {
            // Entities built here never repeat a uid; should that change, refuse rather than guess.
            response = Response(decision: .deny, determiningPolicies: [], errors: [])
        }
        // The action entities are the same for every request; the record keeps only what varies.
        return decision(from: response, bundle: bundle, request: cedarRequest, entities: entities)
    }

    /// Decides a Cedar request over given entities, as the gateway would (for policy tests).
    public static func decide(_ request: Request, entities: Entities, with bundle: PolicyBundle) -> AuthorizationDecision {
        let response = Authorizer.isAuthorized(request, policies: bundle.policies, entities: entities)
        return decision(from: response, bundle: bundle, request: request, entities: Array(entities.all))
    }

    /// Evaluates a recorded request (Cedar request and entities JSON) against `bundle`, for `portcullis policy explain`.
    public static func decide(requestJSON: String, entitiesJSON: String, with bundle: PolicyBundle) throws -> AuthorizationDecision {
        let request = try Request(json: requestJSON)
        var recorded = Array(try Entities(json: entitiesJSON).all)
        recorded.removeAll { $0.uid.type.isAction }
        let entities = try Entities(recorded + GatewayAction.entities)
        let response = Authorizer.isAuthorized(request, policies: bundle.policies, entities: entities)
        return decision(from: response, bundle: bundle, request: request, entities: recorded)
    }

    private static func decision(from response: Response, bundle: PolicyBundle, request: Request, entities: [Entity]) -> AuthorizationDecision {
        let failedForbids = response.errors.map(\.policyID).filter { bundle.policies[$0]?.effect == .forbid }
        let failClosed = response.decision == .allow && !failedForbids.isEmpty
        return AuthorizationDecision(
            isAllowed: response.decision == .allow && !failClosed,
            determiningPolicies: (failClosed ? failedForbids : response.determiningPolicies).map(\.rawValue),
            evaluationErrors: response.errors,
            deniedByFailedForbid: failClosed,
            policySetDigest: bundle.digest,
            request: request,
            entities: entities
        )
    }
}
