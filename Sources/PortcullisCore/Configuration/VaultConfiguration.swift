/// `vault`: the token vault's deployment settings.
public struct VaultConfiguration: Sendable, Equatable, Decodable {
    /// Where a vendor's OAuth 2.0 endpoints are, when not at their public addresses (GitHub Enterprise Server, a
    /// regional Zoom, a local stand-in): vendor name (`GithubOauth2`, …) → endpoints.
    public var vendorEndpoints: [String: VendorEndpoints]
    /// Allow `http://` authorization servers off loopback.
    public var allowInsecureEndpoints: Bool
    /// How long a gateway holds a token's refresh lease; the vendor gets half of it to answer. A refresh that started
    /// longer ago and never finished is taken as dead (its gateway crashed).
    public var refreshLeaseSeconds: Int
    /// How often the user tokens about to expire are refreshed ahead of their use; 0 turns that off.
    public var refreshSweepSeconds: Int

    public struct VendorEndpoints: Sendable, Equatable, Decodable {
        public var authorizationEndpoint: String
        public var tokenEndpoint: String
        /// Where the vault revokes the vendor's tokens (`{client_id}` stands for the client id). An override
        /// replaces all of a vendor's endpoints: without this one, tokens of the vendor are not revoked.
        public var revocationEndpoint: String?

        public init(authorizationEndpoint: String, tokenEndpoint: String, revocationEndpoint: String? = nil) {
            self.authorizationEndpoint = authorizationEndpoint
            self.tokenEndpoint = tokenEndpoint
            self.revocationEndpoint = revocationEndpoint
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case authorizationEndpoint, tokenEndpoint, revocationEndpoint }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.authorizationEndpoint = try container.decode(String.self, forKey: .authorizationEndpoint)
            self.tokenEndpoint = try container.decode(String.self, forKey: .tokenEndpoint)
            self.revocationEndpoint = try container.decodeIfPresent(String.self, forKey: .revocationEndpoint)
        }
    }

    public init(
        vendorEndpoints: [String: VendorEndpoints] = [:], allowInsecureEndpoints: Bool = false, refreshLeaseSeconds: Int = 60, refreshSweepSeconds: Int = 60
    ) {
        self.vendorEndpoints = vendorEndpoints
        self.allowInsecureEndpoints = allowInsecureEndpoints
        self.refreshLeaseSeconds = refreshLeaseSeconds
        self.refreshSweepSeconds = refreshSweepSeconds
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case vendorEndpoints, allowInsecureEndpoints, refreshLeaseSeconds, refreshSweepSeconds }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.vendorEndpoints = try container.value(.vendorEndpoints, default: [:])
        self.allowInsecureEndpoints = try container.value(.allowInsecureEndpoints, default: false)
        self.refreshLeaseSeconds = try container.value(.refreshLeaseSeconds, default: 60)
        guard (4...600).contains(refreshLeaseSeconds) else { throw ConfigurationError("vault.refreshLeaseSeconds must be between 4 and 600") }
        self.refreshSweepSeconds = try container.value(.refreshSweepSeconds, default: 60)
        guard (0...86_400).contains(refreshSweepSeconds) else { throw ConfigurationError("vault.refreshSweepSeconds must be between 0 and 86400") }
        for (vendor, endpoints) in vendorEndpoints {
            guard OAuth2VendorProfile.vendors.contains(vendor) else {
                throw ConfigurationError("vault.vendorEndpoints: \(vendor) is not a credential provider vendor")
            }
            let revocation = endpoints.revocationEndpoint.map { OAuth2VendorProfile.revocationURL($0, clientId: "client") }
            for url in [endpoints.authorizationEndpoint, endpoints.tokenEndpoint] + (revocation.map { [$0] } ?? []) {
                if let problem = OAuth2VendorProfile.endpointProblem(url, allowInsecure: allowInsecureEndpoints) {
                    throw ConfigurationError("vault.vendorEndpoints.\(vendor): \(url) \(problem)")
                }
            }
        }
    }
}
