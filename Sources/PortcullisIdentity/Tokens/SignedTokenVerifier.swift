import PortcullisCore

/// A JWT whose signature was checked against its issuer's keys and whose times are valid.
struct VerifiedJWT: Sendable {
    var header: JOSEHeader
    var claims: JWTClaims
    var issuer: TrustedIssuer
    var canonicalIssuer: String
    var keyId: String
}

/// The checks every JWT gets, access token or ID token: size, strict parsing and header rules; the issuer by
/// `iss`, its algorithm allow-list and the key by `kid` (one rate-limited refetch for an unknown one); the
/// signature; `exp`, `nbf` and `iat` with the issuer's leeway.
struct SignedTokenVerifier: Sendable {
    let registry: IssuerRegistry

    func verify(_ token: String, now: Double) async throws(AuthenticationError) -> VerifiedJWT {
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
        try claims.checkTimes(now: now, leeway: Double(configuration.leewaySeconds))
        return VerifiedJWT(header: jws.header, claims: claims, issuer: issuer, canonicalIssuer: canonicalIssuer, keyId: keyId)
    }
}
