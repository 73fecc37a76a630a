public import Foundation
public import PortcullisCore
public import PortcullisIdentity

/// Turns an OAuth 2.0 credential provider's configuration into the registration the vault uses: the vendor's own
/// endpoints (or the gateway's `vault.vendorEndpoints` override), a Microsoft tenant's, explicit metadata, or the
/// authorization server's discovery document, fetched once when the provider is created or updated.
public struct OAuth2Registrar: Sendable {
    /// Where the endpoints come from.
    public enum Endpoints: Sendable, Equatable {
        /// The vendor's own (or the configured override).
        case vendor
        case explicit(issuer: String?, authorizationEndpoint: String, tokenEndpoint: String, authMethods: [String])
        /// `…/.well-known/openid-configuration` or `…/.well-known/oauth-authorization-server`.
        case discovery(url: String)
    }

    public struct Input: Sendable, Equatable {
        public var vendor: String
        public var clientId: String
        public var endpoints: Endpoints
        public var clientAuthentication: OAuth2VendorProfile.ClientAuthentication?
        public var tenantId: String?

        public init(vendor: String, clientId: String, endpoints: Endpoints, clientAuthentication: OAuth2VendorProfile.ClientAuthentication? = nil, tenantId: String? = nil) {
            self.vendor = vendor
            self.clientId = clientId
            self.endpoints = endpoints
            self.clientAuthentication = clientAuthentication
            self.tenantId = tenantId
        }
    }

    static let discoveryTimeout: Duration = .seconds(10)
    static let maxDiscoveryBytes = 64 * 1024

    let configuration: VaultConfiguration
    let http: IdentityHTTPClient

    public init(configuration: VaultConfiguration, http: IdentityHTTPClient = .shared) {
        self.configuration = configuration
        self.http = http
    }

    public func resolve(_ input: Input) async throws(AgentCoreError) -> OAuth2ClientRegistration {
        let profile = OAuth2VendorProfile.profile(for: input.vendor)
        var issuer: String?
        var authorization: String
        var token: String
        var authMethods: [String] = []
        var usesPKCE = profile.usesPKCE
        var discoveryURL: String?
        var revocationEndpoint: String?
        if let override = configuration.vendorEndpoints[input.vendor] {
            (authorization, token) = (override.authorizationEndpoint, override.tokenEndpoint)
        } else {
            switch input.endpoints {
            case .explicit(let explicitIssuer, let explicitAuthorization, let explicitToken, let methods):
                (issuer, authorization, token, authMethods) = (explicitIssuer, explicitAuthorization, explicitToken, methods)
            case .discovery(let url):
                try check(url, field: "discoveryUrl")
                let document = try await discover(url)
                (issuer, authorization, token, authMethods) = (document.issuer, document.authorization, document.token, document.authMethods)
                if let methods = document.challengeMethods { usesPKCE = methods.contains("S256") }
                discoveryURL = url
                // Optional metadata: one the vault would not send a token to is left out (the grant is then only forgotten).
                revocationEndpoint = document.revocation.flatMap {
                    OAuth2VendorProfile.endpointProblem($0, allowInsecure: configuration.allowInsecureEndpoints) == nil ? $0 : nil
                }
            case .vendor:
                if input.vendor == "MicrosoftOauth2" {
                    let tenant = input.tenantId ?? "common"
                    authorization = "https://login.microsoftonline.com/\(tenant)/oauth2/v2.0/authorize"
                    token = "https://login.microsoftonline.com/\(tenant)/oauth2/v2.0/token"
                } else if let vendorAuthorization = profile.authorizationEndpoint, let vendorToken = profile.tokenEndpoint {
                    (authorization, token) = (vendorAuthorization, vendorToken)
                } else {
                    throw AgentCoreError.invalidField(
                        "oauth2ProviderConfigInput", "\(input.vendor) needs its authorizationEndpoint and tokenEndpoint (or a discoveryUrl)"
                    )
                }
            }
        }
        try check(authorization, field: "authorizationEndpoint")
        try check(token, field: "tokenEndpoint")
        var authentication = input.clientAuthentication ?? profile.clientAuthentication
        if input.clientAuthentication == nil, !authMethods.isEmpty, !authMethods.contains(authentication.rawValue) {
            // The server's own list decides when the request did not.
            if authMethods.contains("client_secret_basic") {
                authentication = .basic
            } else if authMethods.contains("client_secret_post") {
                authentication = .post
            }
        }
        return OAuth2ClientRegistration(
            clientId: input.clientId, issuer: issuer, authorizationEndpoint: authorization, tokenEndpoint: token, clientAuthentication: authentication,
            tenantId: input.tenantId, discoveryURL: discoveryURL, usesPKCE: usesPKCE, revocationEndpoint: revocationEndpoint
        )
    }

    private func check(_ url: String, field: String) throws(AgentCoreError) {
        if let problem = OAuth2VendorProfile.endpointProblem(url, allowInsecure: configuration.allowInsecureEndpoints) {
            throw AgentCoreError.invalidField(field, "The URL \(problem)")
        }
    }

    private struct Document {
        var issuer: String?
        var authorization: String
        var token: String
        var authMethods: [String]
        var challengeMethods: [String]?
        var revocation: String?
    }

    private func discover(_ url: String) async throws(AgentCoreError) -> Document {
        let response: IdentityHTTPClient.Response
        do {
            response = try await http.get(url, timeout: Self.discoveryTimeout, maxBytes: Self.maxDiscoveryBytes)
        } catch {
            throw AgentCoreError.invalidField("discoveryUrl", "The discovery document could not be fetched: \(error.description)")
        }
        guard response.status == 200, let members = try? StrictJSON.parseObject(response.body, maxDepth: 8),
            let authorization = members["authorization_endpoint"]?.stringValue, let token = members["token_endpoint"]?.stringValue
        else {
            throw AgentCoreError.invalidField("discoveryUrl", "The discovery document (HTTP \(response.status)) has no authorization_endpoint and token_endpoint")
        }
        func strings(_ name: String) -> [String]? {
            guard case .array(let items)? = members[name] else { return nil }
            return items.compactMap(\.stringValue)
        }
        return Document(
            issuer: members["issuer"]?.stringValue, authorization: authorization, token: token,
            authMethods: strings("token_endpoint_auth_methods_supported") ?? [], challengeMethods: strings("code_challenge_methods_supported"),
            revocation: members["revocation_endpoint"]?.stringValue
        )
    }
}
