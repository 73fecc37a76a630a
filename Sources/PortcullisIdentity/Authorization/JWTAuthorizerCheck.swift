public import PortcullisCore

/// A runtime's `customJWTAuthorizer` applied to an authenticated token, with AgentCore's semantics.
///
/// The token must come from the issuer the authorizer's `discoveryUrl` designates; a wrong audience or client
/// makes it an invalid token for this resource (401), a missing scope is `insufficient_scope` (403), and unmet
/// custom claims are a plain denial (403).
public struct JWTAuthorizerCheck: Sendable {
    public let registry: IssuerRegistry

    public init(registry: IssuerRegistry) {
        self.registry = registry
    }

    /// - Parameters:
    ///   - authorizer: the runtime's authorizer; `nil` when its stored configuration cannot be read (every token is
    ///     then refused).
    ///   - challenge: the bearer challenge for this resource, carrying its metadata URL; built only for a refusal.
    public func check(
        _ principal: Principal,
        against authorizer: CustomJWTAuthorizer?,
        runtimeName: String,
        challenge: @autoclosure () -> BearerChallenge
    ) throws(AgentCoreError) {
        guard let authorizer else {
            throw AgentCoreError(.accessDenied, "Agent runtime \(runtimeName) has an authorizer configuration that cannot be read")
        }
        guard principal.method == .jwt else {
            throw AgentCoreError(.accessDenied, "Agent runtime \(runtimeName) accepts only OAuth bearer tokens from its authorizer")
        }
        let issuer: TrustedIssuer
        do {
            issuer = try registry.issuer(forDiscoveryURL: authorizer.discoveryURL)
        } catch {
            throw AgentCoreError(.accessDenied, "Agent runtime \(runtimeName) names an identity provider this gateway does not trust")
        }
        guard principal.issuerName == issuer.name else {
            throw AuthenticationFailure.untrustedIssuer.error(challenge: challenge())
        }
        if let allowed = authorizer.allowedAudience, !principal.audiences.contains(where: allowed.contains) {
            throw AuthenticationFailure.wrongAudience.error(challenge: challenge())
        }
        if let allowed = authorizer.allowedClients, !(principal.clientId.map(allowed.contains) ?? false) {
            throw AuthenticationFailure.wrongClient.error(challenge: challenge())
        }
        if let allowed = authorizer.allowedScopes, !principal.scopes.contains(where: allowed.contains) {
            var insufficient = challenge()
            insufficient.error = "insufficient_scope"
            insufficient.errorDescription = "The token needs one of the scopes this agent accepts"
            insufficient.scope = allowed.joined(separator: " ")
            throw AgentCoreError(
                .accessDenied,
                "The bearer token lacks a scope this agent accepts",
                headers: [(name: "WWW-Authenticate", value: insufficient.headerValue)]
            )
        }
        for rule in authorizer.customClaims where !rule.isSatisfied(by: principal.claims) {
            throw AgentCoreError(.accessDenied, "The bearer token's claims do not satisfy this agent's authorizer")
        }
    }
}
