import Foundation
import HTTPTypes
import Logging
import PortcullisCore
import PortcullisIdentity
import PortcullisPolicy

/// A data-plane request whose caller is known and whose target is resolved.
struct AdmittedInvocation: Sendable {
    var principal: Principal
    var resolved: ResolvedRuntime

    /// The agent as policies see it.
    var agent: PolicyResource {
        .agent(AgentFacts(
            name: resolved.runtime.name,
            id: resolved.runtime.id,
            arn: resolved.arn,
            version: resolved.version.version,
            endpoint: resolved.endpointName,
            serverProtocol: resolved.configuration.protocolConfiguration.serverProtocol.rawValue,
            hasJWTAuthorizer: resolved.configuration.requiresJWTBearer,
            tags: resolved.runtime.tags
        ))
    }
}

/// Steps 2–4 of the request path, shared by every data-plane operation (invoke, WebSocket, agent card, stop):
/// authenticate, resolve the target, authorize. Each step fails closed with its AgentCore error.
struct InvocationGate: Sendable {
    let authenticators: AuthenticatorChain
    let signatures: SigV4Authenticator
    let authorizerCheck: JWTAuthorizerCheck
    let resolver: RuntimeResolver
    let access: AccessPolicy
    let names: ResourceNames
    let baseURL: PublicBaseURL
    let audit: AuditLog
    let logger: Logger

    /// What a header-signed SigV4 request can be refused for before its body is read: the body is spooled only
    /// for requests from a known, usable key signed within the clock window.
    func precheckSignature(_ request: RequestFacts) async throws(AgentCoreError) {
        do {
            try await signatures.precheck(try InboundCredential.headerSignature(request.headers))
        } catch {
            logger.info("authentication failed", metadata: ["reason": "\(error.failure.rawValue)", "detail": "\(error.detail ?? "")"])
            audit.record(AuditEvent(time: Date(), kind: .authenticationFailed, outcome: "failure", details: ["reason": .string(error.failure.rawValue), "method": .string("sigv4")]))
            throw error.error
        }
    }

    /// Identifies the caller and target, then asks the policies whether `action` is allowed.
    /// - Parameters:
    ///   - request: the request's method, raw path and query, headers, authority and (for SigV4) body hash.
    ///   - credential: the credential when it does not come from the request (a WebSocket subprotocol).
    func admit(
        _ request: RequestFacts,
        rawTarget: Substring,
        query: QueryParameters,
        credential presetCredential: InboundCredential? = nil,
        action: GatewayAction,
        caller: AccessPolicy.Caller
    ) async throws(AgentCoreError) -> AdmittedInvocation {
        let admitted = try await identify(request, rawTarget: rawTarget, query: query, credential: presetCredential)
        try authorize(admitted, action, caller: caller)
        return admitted
    }

    /// Steps 2 and 3 and the credential's own limits, without the policies: for requests whose policy question
    /// depends on what the target is (an MCP runtime's body is read and authorized per call).
    func identify(
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
            audit.record(
                AuditEvent(time: Date(), kind: .authenticationFailed, agentRuntimeId: target.runtimeId, outcome: "failure", details: ["reason": .string(error.failure.rawValue)])
            )
            throw error.failure.error(challenge: await challenge(for: target, authority: request.authority))
        }
        try Self.applyUser(request.headers, to: &principal)
        let resolved = try await resolver.resolve(target)
        try checkCredential(principal, for: resolved, authority: request.authority)
        return AdmittedInvocation(principal: principal, resolved: resolved)
    }

    /// Step 4: the policies decide whether the admitted caller may do `action` on its target.
    func authorize(_ admitted: AdmittedInvocation, _ action: GatewayAction, caller: AccessPolicy.Caller, mcp: MCPCall? = nil) throws(AgentCoreError) {
        try access.require(admitted.principal, action, on: admitted.agent, caller: caller, mcp: mcp)
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

    /// What the credential itself allows, before any policy: runtimes with a `customJWTAuthorizer` take only bearer
    /// tokens that satisfy it (as AgentCore refuses SigV4 on them); the others take API keys and SigV4. A key
    /// scoped to other agents is refused whatever the policies say — its scope caps what they can grant.
    func checkCredential(_ principal: Principal, for resolved: ResolvedRuntime, authority: String?) throws(AgentCoreError) {
        let name = resolved.runtime.name
        if resolved.configuration.requiresJWTBearer {
            try authorizerCheck.check(principal, against: resolved.authorizer, runtimeName: name, challenge: challenge(for: resolved, authority: authority))
        } else if principal.method == .jwt {
            logger.notice("credential refused before the policies", metadata: ["principal": "\(principal.id)", "agent": "\(name)", "reason": "bearer token on a runtime without customJWTAuthorizer"])
            throw AgentCoreError(.accessDenied, "Agent runtime \(name) has no customJWTAuthorizer and does not accept bearer tokens")
        }
        guard principal.agentScope.allows(name) else {
            logger.notice("credential refused before the policies", metadata: ["principal": "\(principal.id)", "agent": "\(name)", "reason": "outside the key's agent scope"])
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
