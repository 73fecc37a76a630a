import PortcullisCore

/// Microsoft Entra ID.
///
/// An application receives v1 tokens (`iss` = `https://sts.windows.net/{tid}/`) or v2 tokens
/// (`https://login.microsoftonline.com/{tid}/v2.0`) depending on the resource's manifest, not on the endpoint the
/// client used, so both shapes are accepted for the same tenant and normalised to the v2 form. Multi-tenant
/// metadata names `{tenantid}`: the token's `tid` (a GUID) is substituted and must be on the tenant allowlist.
/// The stable user id is `oid`; identity is (tenant, oid). Delegated scopes are in `scp` (a string), application
/// permissions in `roles`; the client is `azp` (v2) or `appid` (v1). Microsoft Graph tokens are meant for Graph
/// and cannot be verified by anyone else, so they are refused.
struct EntraProfile: IssuerProfile {
    static let graphAudiences: Set<String> = [
        "00000003-0000-0000-c000-000000000000", "https://graph.microsoft.com", "https://graph.microsoft.com/",
    ]
    static let placeholder = "{tenantid}"

    var defaultClaims: ClaimNames {
        ClaimNames(
            subject: ["oid", "sub"],
            groups: "groups",
            scopes: ["scp", "roles"],
            clientId: ["azp", "appid"],
            tenant: "tid",
            displayName: ["preferred_username", "upn", "unique_name", "name", "oid"]
        )
    }

    func canonicalIssuer(of claims: JWTClaims, metadataIssuer: String, configuration: IssuerConfiguration) -> String? {
        if claims.issuer == metadataIssuer, !metadataIssuer.contains(Self.placeholder), !Self.isKnownShape(metadataIssuer) {
            // Entra External ID (ciamlogin.com) and other exact issuers.
            return metadataIssuer
        }
        guard let tenant = claims.string("tid"), IssuerConfiguration.isGUID(tenant) else { return nil }
        let lowered = tenant.lowercased()
        let v2 = "https://login.microsoftonline.com/\(lowered)/v2.0"
        let v1 = "https://sts.windows.net/\(lowered)/"
        guard claims.issuer == v2 || claims.issuer == v1 else { return nil }
        if metadataIssuer.contains(Self.placeholder) {
            guard configuration.tenants.contains("*") || configuration.tenants.contains(where: { $0.lowercased() == lowered }) else {
                return nil
            }
        } else {
            // A single-tenant issuer vouches only for its own tenant, in either token version.
            guard metadataIssuer.lowercased() == v2 || metadataIssuer.lowercased() == v1 else { return nil }
            if !configuration.tenants.isEmpty, !configuration.tenants.contains(where: { $0.lowercased() == lowered }) {
                return nil
            }
        }
        return v2
    }

    func check(_ claims: JWTClaims, header: JOSEHeader, metadataIssuer: String, configuration: IssuerConfiguration) throws(AuthenticationError) {
        if claims.audiences.contains(where: { Self.graphAudiences.contains($0) || $0.hasPrefix("https://graph.microsoft.com/") }) {
            throw AuthenticationError(.wrongAudience, "a Microsoft Graph token; request a token for this API instead")
        }
        if header.members["nonce"] != nil {
            throw AuthenticationError(.tokenRefused, "a token with a nonce header (Graph-style), which cannot be verified here")
        }
    }

    func clientId(of claims: JWTClaims, names: ClaimNames) -> String? {
        names.clientId.lazy.compactMap { claims.string($0) }.first
    }

    /// Over 200 groups (150 in SAML, 6 in implicit flows) the token carries `_claim_names.groups` or `hasgroups`
    /// instead of the list.
    func groupsIncomplete(_ claims: JWTClaims) -> Bool {
        if case .object(let names)? = claims.members["_claim_names"], names["groups"] != nil { return true }
        return claims.members["hasgroups"] == .bool(true)
    }

    private static func isKnownShape(_ issuer: String) -> Bool {
        issuer.hasPrefix("https://login.microsoftonline.com/") || issuer.hasPrefix("https://sts.windows.net/")
    }
}
