import HTTPTypes
import Logging
import PortcullisCore
import PortcullisIdentity

/// A data-plane request that passed authentication, resolution and authorization.
struct AdmittedInvocation: Sendable {
    var principal: Principal
    var resolved: ResolvedRuntime
}

/// Steps 2–4 of the request path, shared by every data-plane operation (invoke, WebSocket, agent card, stop):
/// authenticate, resolve the target, authorize. Each step fails closed with its AgentCore error.
struct InvocationGate: Sendable {
    let authenticators: AuthenticatorChain
    let resolver: RuntimeResolver
    let names: ResourceNames
    let logger: Logger

    /// - Parameter credential: the credential when it does not come from the headers (a WebSocket subprotocol).
    func admit(
        headers: HTTPFields,
        rawTarget: Substring,
        query: QueryParameters,
        credential presetCredential: InboundCredential? = nil
    ) async throws(AgentCoreError) -> AdmittedInvocation {
        try query.validate()
        let target = try InvocationTarget(rawSegment: rawTarget, query: query, names: names)
        let credential: InboundCredential
        if let presetCredential {
            credential = presetCredential
        } else {
            credential = try InboundCredential.extract(from: headers)
        }
        let principal: Principal
        do {
            principal = try await authenticators.authenticate(credential)
        } catch {
            logger.info("authentication failed", metadata: ["reason": "\(error.failure.rawValue)"])
            throw error.error
        }
        let resolved = try await resolver.resolve(target)
        try Self.authorize(principal, for: resolved)
        return AdmittedInvocation(principal: principal, resolved: resolved)
    }

    /// Whether `principal` may invoke the runtime. Runtimes with a `customJWTAuthorizer` take only bearer tokens
    /// (as AgentCore refuses SigV4 on them); the others take API keys and SigV4. A key scoped to other agents is
    /// refused.
    static func authorize(_ principal: Principal, for resolved: ResolvedRuntime) throws(AgentCoreError) {
        let name = resolved.runtime.name
        if resolved.configuration.requiresJWTBearer, principal.method != .jwt {
            throw AgentCoreError(.accessDenied, "Agent runtime \(name) accepts only OAuth bearer tokens from its authorizer")
        }
        if !resolved.configuration.requiresJWTBearer, principal.method == .jwt {
            throw AgentCoreError(.accessDenied, "Agent runtime \(name) has no customJWTAuthorizer and does not accept bearer tokens")
        }
        guard principal.agentScope.allows(name) else {
            throw AgentCoreError(.accessDenied, "The credential is not allowed to invoke agent runtime \(name)")
        }
    }
}
