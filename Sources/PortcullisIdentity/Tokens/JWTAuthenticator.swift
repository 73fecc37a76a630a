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

    /// Verifies a token without the cache (also used for ID tokens at sign-in, with their own audience rule).
    func verify(_ token: String, now: Double) async throws(AuthenticationError) -> (Principal, VerifiedTokenCache.Entry) {
        let jws: CompactJWS
        do {
            jws = try CompactJWS(token, maxBytes: registry.maxTokenBytes)
        } catch {
            throw AuthenticationError(error.code == .tooLarge ? .tokenTooLarge : .malformedToken, error.detail)
        }
        let claims = try JWTClaims(payload: jws.payload)
        guard let (issuer, canonicalIssuer) = await registry.issuer(for: claims) else {
            throw AuthenticationError(.untrustedIssuer, "no trusted issuer for iss '\(claims.issuer.prefix(200))'")
        }
        let configuration = issuer.configuration
        guard token.utf8.count <= configuration.maxTokenBytes else {
            throw AuthenticationError(.tokenTooLarge, "\(token.utf8.count) bytes; issuer \(issuer.name) allows \(configuration.maxTokenBytes)")
        }
        guard configuration.algorithms.contains(jws.header.algorithm) else {
            throw AuthenticationError(.invalidSignature, "\(jws.header.algorithm.rawValue) is not allowed for issuer \(issuer.name)")
        }
        guard let keyId = jws.header.keyId else {
            throw AuthenticationError(.unknownSigningKey, "the token has no kid")
        }
        guard let key = await issuer.key(for: keyId) else {
            throw AuthenticationError(
                issuer.status.keyIds.isEmpty && issuer.status.lastFailure != nil ? .issuerUnavailable : .unknownSigningKey,
                "issuer \(issuer.name) has no key '\(keyId.prefix(64))'"
            )
        }
        do {
            try jws.verify(with: key)
        } catch {
            throw AuthenticationError(.invalidSignature, error.detail)
        }
        let leeway = Double(configuration.leewaySeconds)
        try claims.checkTimes(now: now, leeway: leeway)
        try issuer.checkType(jws.header)
        try issuer.profile.check(claims, header: jws.header, metadataIssuer: issuer.metadataIssuer ?? canonicalIssuer, configuration: configuration)
        let principal = try issuer.principal(for: claims, canonicalIssuer: canonicalIssuer)
        try issuer.checkAudience(claims, clientId: principal.clientId)
        let entry = VerifiedTokenCache.Entry(principal: principal, validUntil: claims.expiresAt + leeway, issuer: issuer, keyId: keyId)
        return (principal, entry)
    }
}
