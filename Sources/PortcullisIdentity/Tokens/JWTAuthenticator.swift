import Foundation
public import Logging
public import PortcullisCore
import Synchronization

/// Authenticates OAuth bearer tokens (JWTs) from the trusted issuers.
///
/// The order is deliberate: size, strict parsing and header rules first; then the issuer by `iss`, its algorithm
/// allow-list and the key by `kid` (one rate-limited refetch for an unknown one); the signature; and only then the
/// claims — time with leeway, `typ`, the provider's own rules, the issuer's audiences and clients.
public final class JWTAuthenticator: InboundAuthenticator {
    public let registry: IssuerRegistry
    private let cache: VerifiedTokenCache
    private let clock: any WallClock
    private let logger: Logger

    public init(registry: IssuerRegistry, clock: any WallClock = SystemWallClock(), logger: Logger) {
        self.registry = registry
        self.cache = VerifiedTokenCache(capacity: registry.configuration.tokenCacheEntries)
        self.clock = clock
        self.logger = logger
    }

    public func handles(_ credential: InboundCredential) -> Bool {
        if case .bearerToken = credential { return true }
        return false
    }

    public func authenticate(_ credential: InboundCredential) async throws(AuthenticationError) -> Principal {
        guard case .bearerToken(let token) = credential else { throw AuthenticationError(.unsupportedCredential) }
        let now = clock.now().timeIntervalSince1970
        let fingerprint = VerifiedTokenCache.Fingerprint(token)
        if let principal = cache.principal(for: fingerprint, now: now) {
            return principal
        }
        let (principal, entry) = try await verify(token, now: now)
        cache.insert(entry, for: fingerprint, now: now)
        return principal
    }

    /// Verifies an access token without the cache.
    func verify(_ token: String, now: Double) async throws(AuthenticationError) -> (Principal, VerifiedTokenCache.Entry) {
        let verified = try await SignedTokenVerifier(registry: registry).verify(token, now: now)
        let issuer = verified.issuer
        try issuer.checkType(verified.header)
        try issuer.profile.check(
            verified.claims,
            header: verified.header,
            metadataIssuer: issuer.metadataIssuer ?? verified.canonicalIssuer,
            configuration: issuer.configuration
        )
        let principal = try issuer.principal(for: verified.claims, canonicalIssuer: verified.canonicalIssuer)
        try issuer.checkAudience(verified.claims, clientId: principal.clientId)
        let validUntil = verified.claims.expiresAt + Double(issuer.configuration.leewaySeconds)
        return (principal, VerifiedTokenCache.Entry(principal: principal, validUntil: validUntil, issuer: issuer, keyId: verified.keyId))
    }
}
