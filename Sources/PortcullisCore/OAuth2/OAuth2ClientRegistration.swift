/// An OAuth 2.0 client registration as the vault keeps it (without its secret): the vendor, the client id and the
/// authorization server's endpoints, resolved at creation from the vendor's profile, the gateway's vendor
/// overrides, discovery or the explicit metadata.
public struct OAuth2ClientRegistration: Sendable, Equatable, Codable {
    public var clientId: String
    public var issuer: String?
    public var authorizationEndpoint: String
    public var tokenEndpoint: String
    public var clientAuthentication: OAuth2VendorProfile.ClientAuthentication
    /// Microsoft's tenant, when one was given.
    public var tenantId: String?
    /// The discovery URL the endpoints came from, when they came from one.
    public var discoveryURL: String?
    /// Whether the server supports PKCE S256 (from `code_challenge_methods_supported` when discovered).
    public var usesPKCE: Bool
    /// The RFC 7009 `revocation_endpoint` of a discovered server (vendors' own are in their profile).
    public var revocationEndpoint: String?

    public init(
        clientId: String, issuer: String? = nil, authorizationEndpoint: String, tokenEndpoint: String,
        clientAuthentication: OAuth2VendorProfile.ClientAuthentication, tenantId: String? = nil, discoveryURL: String? = nil, usesPKCE: Bool,
        revocationEndpoint: String? = nil
    ) {
        self.revocationEndpoint = revocationEndpoint
        self.clientId = clientId
        self.issuer = issuer
        self.authorizationEndpoint = authorizationEndpoint
        self.tokenEndpoint = tokenEndpoint
        self.clientAuthentication = clientAuthentication
        self.tenantId = tenantId
        self.discoveryURL = discoveryURL
        self.usesPKCE = usesPKCE
    }
}
