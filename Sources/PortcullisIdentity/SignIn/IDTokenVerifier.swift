import Foundation
public import PortcullisCore

/// Checks the ID token a sign-in returns (OpenID Connect Core §3.1.3.7): signed by the issuer the sign-in went
/// to, for this client (`aud`, and `azp` when there are several audiences), carrying this sign-in's nonce, within
/// its lifetime. The person it names becomes the browser session's principal.
public struct IDTokenVerifier: Sendable {
    public let registry: IssuerRegistry
    let clock: any WallClock

    public init(registry: IssuerRegistry, clock: any WallClock = SystemWallClock()) {
        self.registry = registry
        self.clock = clock
    }

    public func verify(_ idToken: String, issuerName: String, clientId: String, nonce: String) async throws(AuthenticationError) -> Principal {
        let verified = try await SignedTokenVerifier(registry: registry).verify(idToken, now: clock.now().timeIntervalSince1970)
        let claims = verified.claims
        guard verified.issuer.name == issuerName else {
            throw AuthenticationError(.untrustedIssuer, "the ID token comes from \(verified.issuer.name), not \(issuerName)")
        }
        guard claims.audiences.contains(clientId) else {
            throw AuthenticationError(.wrongAudience, "the ID token is not for client \(clientId)")
        }
        if claims.audiences.count > 1, claims.string("azp") != clientId {
            throw AuthenticationError(.wrongAudience, "the ID token has several audiences and azp is not \(clientId)")
        }
        guard let tokenNonce = claims.string("nonce"), ConstantTime.equals(Array(tokenNonce.utf8), Array(nonce.utf8)) else {
            throw AuthenticationError(.tokenRefused, "the ID token's nonce is not this sign-in's")
        }
        if verified.issuer.configuration.profile == .cognito, claims.string("token_use") != "id" {
            throw AuthenticationError(.wrongTokenType, "a Cognito token that is not an ID token")
        }
        var principal = try verified.issuer.principal(for: claims, canonicalIssuer: verified.canonicalIssuer)
        principal.clientId = clientId
        return principal
    }
}
