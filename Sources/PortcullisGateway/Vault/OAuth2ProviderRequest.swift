import Foundation
import PortcullisCore
import PortcullisVault

/// An OAuth2 credential provider's request in its AgentCore shape: `credentialProviderVendor` and the
/// `oauth2ProviderConfigInput` union member that vendor takes.
struct OAuth2ProviderRequest {
    var vendor: String
    var input: OAuth2Registrar.Input
    var clientSecret: String

    /// The union member each vendor's configuration comes in; the rest use `includedOauth2ProviderConfig`.
    static let members: [String: String] = [
        "GoogleOauth2": "googleOauth2ProviderConfig", "GithubOauth2": "githubOauth2ProviderConfig", "SlackOauth2": "slackOauth2ProviderConfig",
        "SalesforceOauth2": "salesforceOauth2ProviderConfig", "MicrosoftOauth2": "microsoftOauth2ProviderConfig",
        "AtlassianOauth2": "atlassianOauth2ProviderConfig", "LinkedinOauth2": "linkedinOauth2ProviderConfig", "CustomOauth2": "customOauth2ProviderConfig",
    ]
    static let allMembers = Array(Set(members.values)).sorted() + ["includedOauth2ProviderConfig"]

    static func member(for vendor: String) -> String { members[vendor] ?? "includedOauth2ProviderConfig" }

    init(_ fields: RequestFields) throws(AgentCoreError) {
        let vendor = try fields.string("credentialProviderVendor", required: true)!
        guard OAuth2VendorProfile.vendors.contains(vendor) else {
            throw AgentCoreError.invalidField("credentialProviderVendor", "Member must satisfy enum value set: [\(OAuth2VendorProfile.vendors.sorted().joined(separator: ", "))]")
        }
        let (member, config) = try fields.unionMember("oauth2ProviderConfigInput", of: Self.allMembers)
        guard member == Self.member(for: vendor) else {
            throw AgentCoreError.invalidField("oauth2ProviderConfigInput", "\(vendor) takes its configuration in \(Self.member(for: vendor))")
        }
        let clientId = try config.string("clientId", required: true, length: 1...256)!
        let secretSource = try config.string("clientSecretSource")
        if config.isPresent("clientSecretConfig") || secretSource == "EXTERNAL" {
            throw AgentCoreError.invalidField(config.name("clientSecret"), "This gateway keeps client secrets itself: send clientSecret")
        }
        let secret = try config.string("clientSecret", required: true, length: 1...2048)!
        var endpoints = OAuth2Registrar.Endpoints.vendor
        var authentication: OAuth2VendorProfile.ClientAuthentication?
        var tenantId: String?
        switch member {
        case "microsoftOauth2ProviderConfig":
            tenantId = try config.string("tenantId", length: 1...128)
            if let tenantId, !tenantId.utf8.allSatisfy({ AgentRuntimeIdentifier.isLetter($0) || AgentRuntimeIdentifier.isDigit($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }) {
                throw AgentCoreError.invalidField(config.name("tenantId"), "Member must be a tenant id or domain")
            }
        case "includedOauth2ProviderConfig":
            let issuer = try config.string("issuer", length: 1...2048)
            if let authorization = try config.string("authorizationEndpoint", length: 1...2048), let token = try config.string("tokenEndpoint", length: 1...2048) {
                endpoints = .explicit(issuer: issuer, authorizationEndpoint: authorization, tokenEndpoint: token, authMethods: [])
            } else if let issuer {
                endpoints = .discovery(url: (issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer) + "/.well-known/openid-configuration")
            }
        case "customOauth2ProviderConfig":
            if config.isPresent("onBehalfOfTokenExchangeConfig") || config.isPresent("privateKeyJwtConfig") {
                throw AgentCoreError.invalidField(config.name("onBehalfOfTokenExchangeConfig"), "Token exchange and private_key_jwt are not supported by this gateway")
            }
            switch try config.string("clientAuthenticationMethod") {
            case nil: break
            case "CLIENT_SECRET_BASIC": authentication = .basic
            case "CLIENT_SECRET_POST": authentication = .post
            default:
                throw AgentCoreError.invalidField(config.name("clientAuthenticationMethod"), "Member must be CLIENT_SECRET_BASIC or CLIENT_SECRET_POST here")
            }
            let (kind, discovery) = try Self.discovery(config)
            if kind == "discoveryUrl" {
                endpoints = .discovery(url: try discovery.string("discoveryUrl", required: true, length: 1...2048)!)
            } else {
                let metadata = try discovery.object("authorizationServerMetadata", required: true)!
                if let types = try metadata.stringList("responseTypes"), !types.contains("code") {
                    throw AgentCoreError.invalidField(metadata.name("responseTypes"), "The authorization server must offer the code response type")
                }
                endpoints = .explicit(
                    issuer: try metadata.string("issuer", required: true, length: 1...2048)!,
                    authorizationEndpoint: try metadata.string("authorizationEndpoint", required: true, length: 1...2048)!,
                    tokenEndpoint: try metadata.string("tokenEndpoint", required: true, length: 1...2048)!,
                    authMethods: try metadata.stringList("tokenEndpointAuthMethods") ?? []
                )
            }
        default:
            break
        }
        self.vendor = vendor
        self.input = OAuth2Registrar.Input(vendor: vendor, clientId: clientId, endpoints: endpoints, clientAuthentication: authentication, tenantId: tenantId)
        self.clientSecret = secret
    }

    /// `oauthDiscovery`: a union of `discoveryUrl` and `authorizationServerMetadata`.
    private static func discovery(_ config: RequestFields) throws(AgentCoreError) -> (String, RequestFields) {
        let discovery = try config.object("oauthDiscovery", required: true)!
        let present = ["discoveryUrl", "authorizationServerMetadata"].filter { discovery.isPresent($0) }
        guard present.count == 1 else {
            throw AgentCoreError.invalidField(discovery.path, "Member must set exactly one of discoveryUrl, authorizationServerMetadata")
        }
        return (present[0], discovery)
    }

    /// `oauth2ProviderConfigOutput`: the resolved endpoints and client id, never the secret.
    static func output(vendor: String, registration: OAuth2ClientRegistration) -> JSONValue {
        var discovery: JSONValue
        if let url = registration.discoveryURL {
            discovery = .object(["discoveryUrl": .string(url)])
        } else {
            discovery = .object([
                "authorizationServerMetadata": .object([
                    "issuer": .string(registration.issuer ?? Self.origin(registration.authorizationEndpoint)),
                    "authorizationEndpoint": .string(registration.authorizationEndpoint),
                    "tokenEndpoint": .string(registration.tokenEndpoint),
                    "responseTypes": .array([.string("code")]),
                ])
            ])
        }
        var inner: [String: JSONValue] = ["oauthDiscovery": discovery, "clientId": .string(registration.clientId)]
        if vendor == "CustomOauth2" {
            inner["clientAuthenticationMethod"] = .string(registration.clientAuthentication == .basic ? "CLIENT_SECRET_BASIC" : "CLIENT_SECRET_POST")
        }
        return .object([member(for: vendor): .object(inner)])
    }

    private static func origin(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return url }
        let rest = url[schemeEnd.upperBound...]
        return String(url[..<schemeEnd.upperBound]) + String(rest.prefix { $0 != "/" })
    }
}
