import PortcullisCore

/// How one kind of identity provider's tokens are read: which `iss` values an issuer vouches for, what its tokens
/// must satisfy beyond signature and time, and which claims carry identity, groups, scopes and client.
protocol IssuerProfile: Sendable {
    /// Where the profile looks for each normalised value when the configuration does not say.
    var defaultClaims: ClaimNames { get }

    /// The canonical issuer for a token, or `nil` when the issuer whose metadata names `metadataIssuer` does not
    /// vouch for the token's `iss`.
    func canonicalIssuer(of claims: JWTClaims, metadataIssuer: String, configuration: IssuerConfiguration) -> String?

    /// The provider's own rules (token use, authorization server kind, tenants, audiences it never accepts).
    func check(_ claims: JWTClaims, header: JOSEHeader, metadataIssuer: String, configuration: IssuerConfiguration) throws(AuthenticationError)

    /// The client the token was issued to.
    func clientId(of claims: JWTClaims, names: ClaimNames) -> String?

    /// Whether the token says its group list was cut short.
    func groupsIncomplete(_ claims: JWTClaims) -> Bool
}

extension IssuerProfile {
    func canonicalIssuer(of claims: JWTClaims, metadataIssuer: String, configuration: IssuerConfiguration) -> String? {
        claims.issuer == metadataIssuer ? metadataIssuer : nil
    }

    func clientId(of claims: JWTClaims, names: ClaimNames) -> String? {
        names.clientId.lazy.compactMap { claims.string($0) }.first
    }

    func groupsIncomplete(_ claims: JWTClaims) -> Bool { false }
}

extension IssuerProfileKind {
    /// The profile for this kind of provider.
    var profile: any IssuerProfile {
        switch self {
        case .okta: OktaProfile()
        case .entra: EntraProfile()
        case .cognito: CognitoProfile()
        case .oidc: GenericOIDCProfile()
        }
    }
}

/// The claims that carry each normalised value; for lists of names the first present claim wins.
struct ClaimNames: Sendable, Equatable {
    var subject: [String]
    var groups: String
    var scopes: [String]
    var clientId: [String]
    var tenant: String?
    var displayName: [String]

    /// These names with the configuration's overrides applied.
    func overridden(by mapping: ClaimMapping) -> ClaimNames {
        var names = self
        if let subject = mapping.subject { names.subject = [subject] }
        if let groups = mapping.groups { names.groups = groups }
        if let scopes = mapping.scopes { names.scopes = scopes }
        if let clientId = mapping.clientId { names.clientId = [clientId] }
        if let tenant = mapping.tenant { names.tenant = tenant }
        if let displayName = mapping.displayName { names.displayName = [displayName] }
        return names
    }
}

/// Any OpenID Connect provider: standard claims, nothing refused beyond the common checks.
struct GenericOIDCProfile: IssuerProfile {
    var defaultClaims: ClaimNames {
        ClaimNames(
            subject: ["sub"],
            groups: "groups",
            scopes: ["scope", "scp"],
            clientId: ["client_id", "azp", "cid"],
            tenant: nil,
            displayName: ["preferred_username", "email", "name", "sub"]
        )
    }

    func check(_ claims: JWTClaims, header: JOSEHeader, metadataIssuer: String, configuration: IssuerConfiguration) throws(AuthenticationError) {}
}
