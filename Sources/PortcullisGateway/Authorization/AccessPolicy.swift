import Foundation
import HTTPTypes
import PortcullisCore
import PortcullisPolicy

/// Step 4 of every request, data plane and control plane: the Cedar policies decide, the decision is logged
/// with the policies that made it, and a denial is an `AccessDeniedException` that says nothing about why —
/// `portcullis policy explain <request id>` does, for administrators.
struct AccessPolicy: Sendable {
    static let deniedMessage = "You are not authorized to perform this operation"

    let engine: PolicyEngine
    let log: DecisionLog
    /// Denials are also audited (the decision log keeps every decision with its request).
    let audit: AuditLog
    let clock: any WallClock

    /// Where a request came from, for the context.
    struct Caller: Sendable {
        var requestId: String
        var sourceAddress: String?
        var headers: HTTPFields
        /// Custom headers that arrived as query parameters (presigned WebSocket URLs).
        var queryHeaders: [(name: String, value: String)] = []
        var sessionId: String?
    }

    func require(
        _ principal: Principal, _ action: GatewayAction, on resource: PolicyResource, caller: Caller, mcp: MCPCall? = nil,
        credential: CredentialRequest? = nil
    ) throws(AgentCoreError) {
        let now = clock.now()
        let request = AuthorizationRequest(
            principal: principal,
            action: action,
            resource: resource,
            context: RequestConditions(
                sourceAddress: caller.sourceAddress,
                time: now,
                sessionId: caller.sessionId,
                headers: Self.customHeaders(caller),
                mcp: mcp,
                credentialRequest: credential
            )
        )
        let decision = engine.authorize(request)
        log.record(decision, requestId: caller.requestId, at: now)
        guard decision.isAllowed else {
            var agent: String?
            if case .agent(let facts) = resource { agent = facts.id }
            var details: [String: JSONValue] = [
                "policies": .array(decision.determiningPolicies.map { .string($0) }),
                "errors": .array(decision.errors.prefix(10).map { .string($0) }),
            ]
            if let tool = mcp?.tool { details["tool"] = .string(tool) }
            if let credential { details["provider"] = .string(credential.provider) }
            audit.record(
                AuditEvent(
                    time: now, kind: .authorizationDenied, principal: principal.id, agentRuntimeId: agent, action: action.rawValue,
                    outcome: "denied", requestId: caller.requestId, details: details
                )
            )
            throw AgentCoreError(.accessDenied, Self.deniedMessage)
        }
    }

    /// The custom headers a policy may read, names lower-cased; a repeated header keeps its first value.
    static func customHeaders(_ caller: Caller) -> [String: String] {
        var headers: [String: String] = [:]
        for field in caller.headers where field.name.canonicalName.hasPrefix(AgentRuntimeRules.customHeaderPrefix) {
            if headers[field.name.canonicalName] == nil { headers[field.name.canonicalName] = field.value }
        }
        for header in caller.queryHeaders {
            let name = header.name.lowercased()
            if headers[name] == nil { headers[name] = header.value }
        }
        return headers
    }
}
