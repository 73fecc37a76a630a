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
    let signatures: SigV4Authenticator
    let authorizerCheck: JWTAuthorizerCheck
    let resolver: RuntimeResolver
    let names: ResourceNames
    let baseURL: PublicBaseURL
    let logger: Logger

    /// What a header-signed SigV4 request can be refused for before its body is read: the body is spooled only
    /// for requests from a known, usable key signed within the clock window.
    func precheckSignature(_ request: RequestFacts) async throws(AgentCoreError) {
        do {
            try await signatures.precheck(try InboundCredential.headerSignature(request.headers))
        } catch {
            logger.info("authentication failed", metadata: ["reason": "\(error.failure.rawValue)", "detail": "\(error.detail ?? "")"])
            throw error.error
        }
    }

    /// - Parameters:
    ///   - request: the request's method, raw path and query, headers, authority and (for SigV4) body hash.
    ///   - credential: the credential when it does not come from the request (a WebSocket subprotocol).
    func admit(
        _ request: RequestFacts,
        rawTarget: Substring,
        query: QueryParameters,
        credential presetCredential: InboundCredential? = nil
    ) async throws(AgentCoreError) -> AdmittedInvocation {
        try query.validate()
        let target = try InvocationTarget(rawSegment: rawTarget, query: query, names: names)
        var principal: Principal
        do throws(AuthenticationError) {
            let credential: InboundCredential
            if let presetCredential {
                credential = presetCredential
            } else {
                credential = try InboundCredential.extract(from: request)
            }
            principal = try await authenticators.authenticate(credential)
        } catch {
            logger.info("authentication failed", metadata: ["reason": "\(error.failure.rawValue)", "detail": "\(error.detail ?? "")"])
            throw error.failure.error(challenge: await challenge(for: target, authority: request.authority))
        }
        try Self.applyUser(request.headers, to: &principal)
        let resolved = try await resolver.resolve(target)
        try authorize(principal, for: resolved, authority: request.authority)
        return AdmittedInvocation(principal: principal, resolved: resolved)
    }

    /// `X-Amzn-Bedrock-AgentCore-Runtime-User-Id`: honoured only for credentials allowed to act for users (a token
    /// already names its user); the session and workload identity then belong to that user.
    static func applyUser(_ headers: HTTPFields, to principal: inout Principal) throws(AgentCoreError) {
        guard let userId = headers[.runtimeUserId] else { return }
        guard principal.mayActForUsers else {
            throw AgentCoreError(.accessDenied, "This credential may not invoke on behalf of a user (X-Amzn-Bedrock-AgentCore-Runtime-User-Id)")
        }
        guard (1...1024).contains(userId.utf8.count), userId.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else {
            throw AgentCoreError.invalidField("runtimeUserId", "Member must be 1-1024 printable characters")
        }
        principal.actingForUser = userId
    }

    /// Whether `principal` may invoke the runtime. Runtimes with a `customJWTAuthorizer` take only bearer tokens
    /// that satisfy it (as AgentCore refuses SigV4 on them); the others take API keys and SigV4. A key scoped to
    /// other agents is refused.
    func authorize(_ principal: Principal, for resolved: ResolvedRuntime, authority: String?) throws(AgentCoreError) {
        let name = resolved.runtime.name
        if resolved.configuration.requiresJWTBearer {
            try authorizerCheck.check(principal, against: resolved.authorizer, runtimeName: name, challenge: challenge(for: resolved, authority: authority))
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
