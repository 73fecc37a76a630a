/// `auth`: inbound authentication settings.
public struct AuthConfiguration: Sendable, Equatable, Decodable {
    /// How long a verified API key is trusted before the store is asked again; bounds how late a revocation made
    /// by another process (`portcullis apikey revoke`) takes effect. Revocations through this process apply at once.
    public var apiKeyCacheSeconds: Double
    /// The identity providers whose access tokens the gateway trusts.
    public var issuers: [IssuerConfiguration]
    /// Whether a runtime's `customJWTAuthorizer.discoveryUrl` may name an issuer `issuers` does not list; such an
    /// issuer gets the profile its URL implies (Cognito, Entra, Okta, else generic OIDC) and is trusted only for
    /// the runtimes that name it. Only admins can create runtimes.
    public var allowUnlistedIssuers: Bool
    /// Verified tokens remembered so repeated calls skip the signature check.
    public var tokenCacheEntries: Int
    /// Issuer and key-set URLs may use plain `http://` only on loopback unless this is set.
    public var allowInsecureIssuerURLs: Bool
    /// How far an AWS Signature V4 request's `X-Amz-Date` may be from the gateway's clock.
    public var sigV4ClockSkewSeconds: Int
    /// How long a browser sign-in lasts.
    public var browserSessionSeconds: Int
    /// How long a workload access token (handed to the agent with every call) is good for.
    public var workloadTokenSeconds: Int

    public init(
        apiKeyCacheSeconds: Double = 5,
        issuers: [IssuerConfiguration] = [],
        allowUnlistedIssuers: Bool = true,
        tokenCacheEntries: Int = 10_000,
        allowInsecureIssuerURLs: Bool = false,
        sigV4ClockSkewSeconds: Int = 300,
        browserSessionSeconds: Int = 8 * 3600,
        workloadTokenSeconds: Int = 900
    ) {
        self.apiKeyCacheSeconds = apiKeyCacheSeconds
        self.issuers = issuers
        self.allowUnlistedIssuers = allowUnlistedIssuers
        self.tokenCacheEntries = tokenCacheEntries
        self.allowInsecureIssuerURLs = allowInsecureIssuerURLs
        self.sigV4ClockSkewSeconds = sigV4ClockSkewSeconds
        self.browserSessionSeconds = browserSessionSeconds
        self.workloadTokenSeconds = workloadTokenSeconds
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case apiKeyCacheSeconds, issuers, allowUnlistedIssuers, tokenCacheEntries, allowInsecureIssuerURLs,
            sigV4ClockSkewSeconds, browserSessionSeconds, workloadTokenSeconds
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = AuthConfiguration()
        self.apiKeyCacheSeconds = try container.value(.apiKeyCacheSeconds, default: defaults.apiKeyCacheSeconds)
        self.issuers = try container.value(.issuers, default: [])
        self.allowUnlistedIssuers = try container.value(.allowUnlistedIssuers, default: defaults.allowUnlistedIssuers)
        self.tokenCacheEntries = try container.value(.tokenCacheEntries, default: defaults.tokenCacheEntries)
        self.allowInsecureIssuerURLs = try container.value(.allowInsecureIssuerURLs, default: defaults.allowInsecureIssuerURLs)
        self.sigV4ClockSkewSeconds = try container.value(.sigV4ClockSkewSeconds, default: defaults.sigV4ClockSkewSeconds)
        self.browserSessionSeconds = try container.value(.browserSessionSeconds, default: defaults.browserSessionSeconds)
        self.workloadTokenSeconds = try container.value(.workloadTokenSeconds, default: defaults.workloadTokenSeconds)
        try validate()
    }

    /// Checks that decoding alone cannot express.
    public func validate() throws {
        guard (0...300).contains(apiKeyCacheSeconds) else {
            throw ConfigurationError("auth.apiKeyCacheSeconds must be between 0 and 300")
        }
        guard (0...1_000_000).contains(tokenCacheEntries) else {
            throw ConfigurationError("auth.tokenCacheEntries must be between 0 and 1000000")
        }
        guard (30...900).contains(sigV4ClockSkewSeconds) else {
            throw ConfigurationError("auth.sigV4ClockSkewSeconds must be between 30 and 900")
        }
        guard (300...7 * 86400).contains(browserSessionSeconds) else {
            throw ConfigurationError("auth.browserSessionSeconds must be between 300 and 604800")
        }
        // The SDK polls a pending consent with the same token for up to 10 minutes.
        guard (60...3600).contains(workloadTokenSeconds) else {
            throw ConfigurationError("auth.workloadTokenSeconds must be between 60 and 3600")
        }
        var names = Set<String>()
        for issuer in issuers {
            guard names.insert(issuer.name).inserted else {
                throw ConfigurationError("auth.issuers: the name '\(issuer.name)' is used twice")
            }
            try issuer.validateURLs(allowInsecure: allowInsecureIssuerURLs)
        }
    }
}
