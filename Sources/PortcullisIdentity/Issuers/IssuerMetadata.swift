import PortcullisCore

/// What an issuer's discovery document (OpenID Connect Discovery 1.0 / RFC 8414) says about it, as far as the
/// gateway uses it.
public struct IssuerMetadata: Sendable, Equatable {
    /// The exact `iss` its tokens carry (an Entra multi-tenant issuer contains `{tenantid}`).
    public var issuer: String
    public var jwksURI: String?
    public var authorizationEndpoint: String?
    public var tokenEndpoint: String?
    public var deviceAuthorizationEndpoint: String?
    public var endSessionEndpoint: String?
    public var codeChallengeMethods: [String]

    public init(
        issuer: String,
        jwksURI: String? = nil,
        authorizationEndpoint: String? = nil,
        tokenEndpoint: String? = nil,
        deviceAuthorizationEndpoint: String? = nil,
        endSessionEndpoint: String? = nil,
        codeChallengeMethods: [String] = []
    ) {
        self.issuer = issuer
        self.jwksURI = jwksURI
        self.authorizationEndpoint = authorizationEndpoint
        self.tokenEndpoint = tokenEndpoint
        self.deviceAuthorizationEndpoint = deviceAuthorizationEndpoint
        self.endSessionEndpoint = endSessionEndpoint
        self.codeChallengeMethods = codeChallengeMethods
    }

    /// Reads a discovery document. Endpoint URLs must be acceptable fetch targets; one that is not is dropped
    /// rather than used.
    public init(document: [UInt8], allowInsecureURLs: Bool) throws(IdentityHTTPClient.Failure) {
        let members: [String: JSONValue]
        do {
            members = try StrictJSON.parseObject(document, maxDepth: 16)
        } catch {
            throw IdentityHTTPClient.Failure(description: "the discovery document is not a JSON object: \(error)")
        }
        guard case .string(let issuer)? = members["issuer"], !issuer.isEmpty else {
            throw IdentityHTTPClient.Failure(description: "the discovery document has no issuer")
        }
        func url(_ name: String) -> String? {
            guard let value = members[name]?.stringValue,
                IssuerConfiguration.isAcceptableURL(value, allowInsecure: allowInsecureURLs)
            else { return nil }
            return value
        }
        self.issuer = issuer
        self.jwksURI = url("jwks_uri")
        self.authorizationEndpoint = url("authorization_endpoint")
        self.tokenEndpoint = url("token_endpoint")
        self.deviceAuthorizationEndpoint = url("device_authorization_endpoint")
        self.endSessionEndpoint = url("end_session_endpoint")
        if case .array(let methods)? = members["code_challenge_methods_supported"] {
            self.codeChallengeMethods = methods.compactMap(\.stringValue)
        } else {
            self.codeChallengeMethods = []
        }
    }
}
