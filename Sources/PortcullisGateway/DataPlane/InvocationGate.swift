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
    let authorizerCheck: JWTAuthorizerCheck
    let resolver: RuntimeResolver
    let names: ResourceNames
    let baseURL: PublicBaseURL
    let logger: Logger

    /// - Parameters:
    ///   - authority: the request's `Host`, for the bearer challenge's metadata URL.
    ///   - credential: the credential when it does not come from the headers (a WebSocket subprotocol).
    func admit(
        headers: HTTPFields,
        authority: String?,
        rawTarget: Substring,
        query: QueryParameters,
        credential presetCredential: InboundCredential? = nil
    ) async throws(AgentCoreError) -> AdmittedInvocation {
        try query.validate()
        let target = try InvocationTarget(rawSegment: rawTarget, query: query, names: names)
        let principal: Principal
        do throws(AuthenticationError) {
            let credential: InboundCredential
            if let presetCredential {
                credential = presetCredential
            } else {
                credential = try InboundCredential.extract(from: headers)
            }
            principal = try await authenticators.authenticate(credential)
        } catch {
            logger.info("authentication failed", metadata: ["reason": "\(error.failure.rawValue)", "detail": "\(error.detail ?? "")"])
            throw error.failure.error(challenge: await challenge(for: target, authority: authority))
        }
        let resolved = try await resolver.resolve(target)
        try authorize(principal, for: resolved, challenge: challenge(for: resolved, authority: authority))
        return AdmittedInvocation(principal: principal, resolved: resolved)
    }

    /// Whether `principal` may invoke the runtime. Runtimes with a `customJWTAuthorizer` take only bearer tokens
    /// that satisfy it (as AgentCore refuses SigV4 on them); the others take API keys and SigV4. A key scoped to
    /// other agents is refused.
    func authorize(_ principal: Principal, for resolved: ResolvedRuntime, challenge: BearerChallenge) throws(AgentCoreError) {
        let name = resolved.runtime.name
        if resolved.configuration.requiresJWTBearer {
            try authorizerCheck.check(principal, against: resolved.authorizer, runtimeName: name, challenge: challenge)
        } else if principal.method == .jwt {
            throw AgentCoreError(.accessDenied, "Agent runtime \(name) has no customJWTAuthorizer and does not accept bearer tokens")
        }
        guard principal.agentScope.allows(name) else {
            throw AgentCoreError(.accessDenied, "The credential is not allowed to invoke agent runtime \(name)")
        }
    }

    /// The bearer challenge for a target: with its metadata URL when it is a JWT runtime. Resolution failures are
    /// ignored here, so an unauthenticated caller learns nothing about which runtimes exist.
    private func challenge(for target: InvocationTarget, authority: String?) async -> BearerChallenge {
        guard let resolved = try? await resolver.resolve(target) else { return BearerChallenge() }
        return challenge(for: resolved, authority: authority)
    }

    private func challenge(for resolved: ResolvedRuntime, authority: String?) -> BearerChallenge {
        guard resolved.configuration.requiresJWTBearer, let base = baseURL.resolve(authority: authority) else { return BearerChallenge() }
        return BearerChallenge(resourceMetadataURL: base + PublicBaseURL.resourceMetadataPath(runtimeARN: resolved.arn))
    }
}
