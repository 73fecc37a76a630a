public import Foundation

/// The kind of identity provider an issuer is, which fixes how its tokens are read and what is refused.
public enum IssuerProfileKind: String, Sendable, Codable, CaseIterable {
    /// Okta custom authorization servers (`https://{org}.okta.com/oauth2/{id}`); org authorization server tokens
    /// are refused.
    case okta
    /// Microsoft Entra ID, v1 and v2 tokens, single- or multi-tenant.
    case entra
    /// Amazon Cognito user pools.
    case cognito
    /// Any other OpenID Connect provider.
    case oidc

    /// The profile a provider's issuer URL implies, for issuers a runtime names without configuring them.
    public static func inferred(fromIssuer issuer: String) -> IssuerProfileKind {
        guard let components = URLComponents(string: issuer), let host = components.host?.lowercased() else { return .oidc }
        if host.hasPrefix("cognito-idp.") && host.hasSuffix(".amazonaws.com") { return .cognito }
        if host == "login.microsoftonline.com" || host == "sts.windows.net" || host.hasSuffix(".ciamlogin.com") { return .entra }
        if (host.hasSuffix(".okta.com") || host.hasSuffix(".oktapreview.com")) && components.path.hasPrefix("/oauth2/") {
            return .okta
        }
        return .oidc
    }
}

/// One trusted identity provider (`auth.issuers[]`): where its keys are, what its tokens look like, and which of
/// them the gateway accepts.
public struct IssuerConfiguration: Sendable, Equatable, Decodable {
    /// A short name for logs, metrics, `portcullis login --issuer` and policies.
    public var name: String
    public var profile: IssuerProfileKind
    /// The OIDC discovery document. Its host may differ from the issuer's (local IdPs, private networks).
    public var discoveryURL: String?
    /// The exact `iss` value. Required without `discoveryUrl`; when both are given they must agree. Entra
    /// multi-tenant issuers use the `{tenantid}` placeholder.
    public var issuer: String?
    /// The key set; overrides the discovery document's `jwks_uri` (Entra apps with custom signing keys need
    /// `?appid=`).
    public var jwksURI: String?
    /// Audiences accepted for every use of this issuer (any of them); runtimes add their own `allowedAudience`.
    public var audiences: [String]
    /// Client ids accepted for every use of this issuer; runtimes add their own `allowedClients`.
    public var clientIds: [String]
    public var algorithms: [JWSAlgorithm]
    /// Clock skew allowed on `exp`, `nbf` and `iat`.
    public var leewaySeconds: Int
    /// The `typ` header every token must carry (`at+jwt` for RFC 9068 access tokens), compared case-insensitively.
    public var requiredTokenType: String?
    public var maxTokenBytes: Int
    /// Entra: the tenants (directory ids) whose users are accepted; `*` accepts every tenant.
    public var tenants: [String]
    /// Entra: appended as `?appid=` to the key-set URL for apps with custom signing keys.
    public var appId: String?
    /// Cognito: accept ID tokens as bearer tokens (their `aud` is the app client id).
    public var acceptIdTokens: Bool
    /// Which claims hold the subject, groups, scopes, client id and tenant; the profile supplies the defaults.
    public var claims: ClaimMapping
    /// Who among this issuer's users may use the control plane.
    public var administrators: AdministratorRule?
    /// The OAuth client the gateway signs people in with (browser and `portcullis login`).
    public var signIn: SignInClientConfiguration?
    public var keySet: KeySetConfiguration

    public init(
        name: String,
        profile: IssuerProfileKind = .oidc,
        discoveryURL: String? = nil,
        issuer: String? = nil,
        jwksURI: String? = nil,
        audiences: [String] = [],
        clientIds: [String] = [],
        algorithms: [JWSAlgorithm] = JWSAlgorithm.defaultAllowList,
        leewaySeconds: Int = 60,
        requiredTokenType: String? = nil,
        maxTokenBytes: Int = 16 * 1024,
        tenants: [String] = [],
        appId: String? = nil,
        acceptIdTokens: Bool = false,
        claims: ClaimMapping = ClaimMapping(),
        administrators: AdministratorRule? = nil,
        signIn: SignInClientConfiguration? = nil,
        keySet: KeySetConfiguration = KeySetConfiguration()
    ) {
        self.name = name
        self.profile = profile
        self.discoveryURL = discoveryURL
        self.issuer = issuer
        self.jwksURI = jwksURI
        self.audiences = audiences
        self.clientIds = clientIds
        self.algorithms = algorithms
        self.leewaySeconds = leewaySeconds
        self.requiredTokenType = requiredTokenType
        self.maxTokenBytes = maxTokenBytes
        self.tenants = tenants
        self.appId = appId
        self.acceptIdTokens = acceptIdTokens
        self.claims = claims
        self.administrators = administrators
        self.signIn = signIn
        self.keySet = keySet
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, profile, discoveryUrl, issuer, jwksUri, audiences, clientIds, algorithms, leewaySeconds,
            requiredTokenType, maxTokenBytes, tenants, appId, acceptIdTokens, claims, administrators, signIn, keySet
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = IssuerConfiguration(name: "")
        self.name = try container.decode(String.self, forKey: .name)
        let field = "auth.issuers[\(name)]"
        self.profile = try container.value(.profile, default: .oidc)
        self.discoveryURL = try container.decodeIfPresent(String.self, forKey: .discoveryUrl)
        self.issuer = try container.decodeIfPresent(String.self, forKey: .issuer)
        self.jwksURI = try container.decodeIfPresent(String.self, forKey: .jwksUri)
        self.audiences = try container.value(.audiences, default: [])
        self.clientIds = try container.value(.clientIds, default: [])
        let algorithmNames = try container.value(.algorithms, default: defaults.algorithms.map(\.rawValue))
        self.algorithms = try algorithmNames.map { name in
            guard let algorithm = JWSAlgorithm(rawValue: name), !algorithm.isSymmetric else {
                throw ConfigurationError(
                    "\(field).algorithms: '\(name)' is not supported; use \(JWSAlgorithm.allCases.filter { !$0.isSymmetric }.map(\.rawValue).joined(separator: ", "))"
                )
            }
            return algorithm
        }
        self.leewaySeconds = try container.value(.leewaySeconds, default: defaults.leewaySeconds)
        self.requiredTokenType = try container.decodeIfPresent(String.self, forKey: .requiredTokenType)
        self.maxTokenBytes = try container.value(.maxTokenBytes, default: defaults.maxTokenBytes)
        self.tenants = try container.value(.tenants, default: [])
        self.appId = try container.decodeIfPresent(String.self, forKey: .appId)
        self.acceptIdTokens = try container.value(.acceptIdTokens, default: false)
        self.claims = try container.value(.claims, default: ClaimMapping())
        self.administrators = try container.decodeIfPresent(AdministratorRule.self, forKey: .administrators)
        self.signIn = try container.decodeIfPresent(SignInClientConfiguration.self, forKey: .signIn)
        self.keySet = try container.value(.keySet, default: KeySetConfiguration())
        try validate()
    }

    /// Checks every rule that does not depend on the rest of the file.
    public func validate() throws {
        let field = "auth.issuers[\(name)]"
        guard (1...64).contains(name.count), name.utf8.allSatisfy({ Self.isNameByte($0) }) else {
            throw ConfigurationError("auth.issuers: name '\(name)' must be 1-64 lowercase letters, digits or '-'")
        }
        guard discoveryURL != nil || (issuer != nil && jwksURI != nil) else {
            throw ConfigurationError("\(field): set discoveryUrl, or issuer and jwksUri")
        }
        if let discoveryURL, !discoveryURL.hasSuffix("/.well-known/openid-configuration") && !discoveryURL.hasSuffix("/.well-known/oauth-authorization-server") {
            throw ConfigurationError("\(field).discoveryUrl must end in /.well-known/openid-configuration")
        }
        guard !algorithms.isEmpty else { throw ConfigurationError("\(field).algorithms must not be empty") }
        guard (0...300).contains(leewaySeconds) else { throw ConfigurationError("\(field).leewaySeconds must be between 0 and 300") }
        guard (1024...64 * 1024).contains(maxTokenBytes) else {
            throw ConfigurationError("\(field).maxTokenBytes must be between 1024 and 65536")
        }
        if let issuer, issuer.contains("{tenantid}") {
            guard profile == .entra else { throw ConfigurationError("\(field).issuer: {tenantid} templates are for profile entra") }
        }
        if profile == .entra {
            let isTemplate = issuer?.contains("{tenantid}") ?? (discoveryURL.map(Self.isEntraMultiTenant) ?? false)
            if isTemplate && tenants.isEmpty {
                throw ConfigurationError("\(field).tenants: a multi-tenant Entra issuer needs the tenant ids it accepts ('*' for all)")
            }
            for tenant in tenants where tenant != "*" && !Self.isGUID(tenant) {
                throw ConfigurationError("\(field).tenants: '\(tenant)' is not a tenant id (a GUID)")
            }
        } else if !tenants.isEmpty || appId != nil {
            throw ConfigurationError("\(field): tenants and appId apply to profile entra only")
        }
        if acceptIdTokens && profile != .cognito {
            throw ConfigurationError("\(field).acceptIdTokens applies to profile cognito only")
        }
        if profile == .okta, let issuer, !(URLComponents(string: issuer)?.path.hasPrefix("/oauth2/") ?? false) {
            throw ConfigurationError(
                "\(field).issuer: Okta org authorization server tokens are meant for Okta's own APIs; use a custom authorization server (https://{org}.okta.com/oauth2/{id})"
            )
        }
        if administrators != nil && audiences.isEmpty && clientIds.isEmpty {
            throw ConfigurationError(
                "\(field).administrators needs audiences or clientIds, so tokens minted for other applications of this IdP cannot reach the control plane"
            )
        }
        try keySet.validate(field: "\(field).keySet")
    }

    /// URLs must be absolute `https`, or `http` on a loopback host (or anywhere with `allowInsecure`).
    func validateURLs(allowInsecure: Bool) throws {
        let field = "auth.issuers[\(name)]"
        for (key, url) in [("discoveryUrl", discoveryURL), ("jwksUri", jwksURI)] {
            guard let url else { continue }
            guard Self.isAcceptableURL(url, allowInsecure: allowInsecure) else {
                throw ConfigurationError("\(field).\(key) must be an https URL (http only on loopback, or with auth.allowInsecureIssuerURLs)")
            }
        }
    }

    /// Whether `url` may be fetched for keys or metadata.
    public static func isAcceptableURL(_ url: String, allowInsecure: Bool) -> Bool {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty, components.user == nil, components.password == nil
        else { return false }
        if scheme == "https" { return true }
        guard scheme == "http" else { return false }
        return allowInsecure || isLoopback(host)
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    static func isEntraMultiTenant(_ discoveryURL: String) -> Bool {
        ["/common/", "/organizations/", "/consumers/"].contains { discoveryURL.contains($0) }
    }

    /// A GUID in its 8-4-4-4-12 hexadecimal form, as Entra tenant ids are.
    public static func isGUID(_ text: String) -> Bool {
        let groups = text.split(separator: "-", omittingEmptySubsequences: false)
        return groups.map(\.count) == [8, 4, 4, 4, 12] && groups.allSatisfy { $0.allSatisfy(\.isHexDigit) }
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            || byte == UInt8(ascii: "-")
    }
}

/// `claims`: which token claims carry what. Empty members take the profile's defaults.
public struct ClaimMapping: Sendable, Equatable, Decodable {
    public var subject: String?
    public var groups: String?
    /// Claims whose values are scopes (a space-delimited string or an array).
    public var scopes: [String]?
    public var clientId: String?
    public var tenant: String?
    public var displayName: String?

    public init(
        subject: String? = nil,
        groups: String? = nil,
        scopes: [String]? = nil,
        clientId: String? = nil,
        tenant: String? = nil,
        displayName: String? = nil
    ) {
        self.subject = subject
        self.groups = groups
        self.scopes = scopes
        self.clientId = clientId
        self.tenant = tenant
        self.displayName = displayName
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case subject, groups, scopes, clientId, tenant, displayName }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.subject = try container.decodeIfPresent(String.self, forKey: .subject)
        self.groups = try container.decodeIfPresent(String.self, forKey: .groups)
        self.scopes = try container.decodeIfPresent([String].self, forKey: .scopes)
        self.clientId = try container.decodeIfPresent(String.self, forKey: .clientId)
        self.tenant = try container.decodeIfPresent(String.self, forKey: .tenant)
        self.displayName = try container.decodeIfPresent(String.self, forKey: .displayName)
    }
}

/// `administrators`: the users of an issuer who may use the control plane (any listed group or subject).
public struct AdministratorRule: Sendable, Equatable, Decodable {
    public var groups: [String]
    public var subjects: [String]

    public init(groups: [String] = [], subjects: [String] = []) {
        self.groups = groups
        self.subjects = subjects
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case groups, subjects }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.groups = try container.value(.groups, default: [])
        self.subjects = try container.value(.subjects, default: [])
        guard !groups.isEmpty || !subjects.isEmpty else {
            throw ConfigurationError("administrators: list groups or subjects")
        }
    }

    /// Whether a user with `subject` in `groups` is an administrator.
    public func admits(subject: String, groups userGroups: [String]) -> Bool {
        subjects.contains(subject) || userGroups.contains(where: groups.contains)
    }
}

/// `signIn`: the OAuth client registered at the IdP for signing people in.
public struct SignInClientConfiguration: Sendable, Equatable, Decodable {
    /// The confidential client the browser sign-in uses.
    public var clientId: String
    /// An environment variable holding the client secret (never the secret itself, so the file can be shared).
    public var clientSecretEnvironment: String?
    /// A file holding the client secret.
    public var clientSecretFile: String?
    /// A public client (no secret, PKCE) for `portcullis login`; defaults to `clientId`.
    public var cliClientId: String?
    public var scopes: [String]

    public init(
        clientId: String,
        clientSecretEnvironment: String? = nil,
        clientSecretFile: String? = nil,
        cliClientId: String? = nil,
        scopes: [String] = ["openid", "profile", "email"]
    ) {
        self.clientId = clientId
        self.clientSecretEnvironment = clientSecretEnvironment
        self.clientSecretFile = clientSecretFile
        self.cliClientId = cliClientId
        self.scopes = scopes
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case clientId, clientSecretEnv, clientSecretFile, cliClientId, scopes }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.clientId = try container.decode(String.self, forKey: .clientId)
        self.clientSecretEnvironment = try container.decodeIfPresent(String.self, forKey: .clientSecretEnv)
        self.clientSecretFile = try container.decodeIfPresent(String.self, forKey: .clientSecretFile)
        self.cliClientId = try container.decodeIfPresent(String.self, forKey: .cliClientId)
        self.scopes = try container.value(.scopes, default: ["openid", "profile", "email"])
        guard !(clientSecretEnvironment != nil && clientSecretFile != nil) else {
            throw ConfigurationError("signIn: set clientSecretEnv or clientSecretFile, not both")
        }
        guard scopes.contains("openid") else { throw ConfigurationError("signIn.scopes must include openid") }
    }

    /// The client secret, read from where the configuration points; `nil` for a public client.
    public func clientSecret(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String? {
        if let variable = clientSecretEnvironment {
            guard let value = environment[variable], !value.isEmpty else {
                throw ConfigurationError("signIn.clientSecretEnv: the environment variable \(variable) is not set")
            }
            return value
        }
        if let path = clientSecretFile {
            guard let data = FileManager.default.contents(atPath: path),
                let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty
            else {
                throw ConfigurationError("signIn.clientSecretFile: cannot read a secret from \(path)")
            }
            return text
        }
        return nil
    }
}

/// `keySet`: how the issuer's JWKS is fetched and kept.
public struct KeySetConfiguration: Sendable, Equatable, Decodable {
    /// Background refresh interval when the response has no usable `Cache-Control: max-age`.
    public var refreshSeconds: Int
    /// Bounds on the refresh interval a `max-age` may choose.
    public var minRefreshSeconds: Int
    public var maxRefreshSeconds: Int
    /// At most one refetch for an unknown `kid` per this many seconds.
    public var unknownKeyRefetchSeconds: Int
    public var fetchTimeoutSeconds: Int
    public var maxBytes: Int

    public init(
        refreshSeconds: Int = 3600,
        minRefreshSeconds: Int = 300,
        maxRefreshSeconds: Int = 86400,
        unknownKeyRefetchSeconds: Int = 10,
        fetchTimeoutSeconds: Int = 5,
        maxBytes: Int = 512 * 1024
    ) {
        self.refreshSeconds = refreshSeconds
        self.minRefreshSeconds = minRefreshSeconds
        self.maxRefreshSeconds = maxRefreshSeconds
        self.unknownKeyRefetchSeconds = unknownKeyRefetchSeconds
        self.fetchTimeoutSeconds = fetchTimeoutSeconds
        self.maxBytes = maxBytes
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case refreshSeconds, minRefreshSeconds, maxRefreshSeconds, unknownKeyRefetchSeconds, fetchTimeoutSeconds, maxBytes
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = KeySetConfiguration()
        self.refreshSeconds = try container.value(.refreshSeconds, default: defaults.refreshSeconds)
        self.minRefreshSeconds = try container.value(.minRefreshSeconds, default: defaults.minRefreshSeconds)
        self.maxRefreshSeconds = try container.value(.maxRefreshSeconds, default: defaults.maxRefreshSeconds)
        self.unknownKeyRefetchSeconds = try container.value(.unknownKeyRefetchSeconds, default: defaults.unknownKeyRefetchSeconds)
        self.fetchTimeoutSeconds = try container.value(.fetchTimeoutSeconds, default: defaults.fetchTimeoutSeconds)
        self.maxBytes = try container.value(.maxBytes, default: defaults.maxBytes)
    }

    func validate(field: String) throws {
        guard (1...maxRefreshSeconds).contains(minRefreshSeconds), (minRefreshSeconds...maxRefreshSeconds).contains(refreshSeconds),
            maxRefreshSeconds <= 7 * 86400
        else {
            throw ConfigurationError("\(field): need 1 <= minRefreshSeconds <= refreshSeconds <= maxRefreshSeconds <= 604800")
        }
        guard (1...3600).contains(unknownKeyRefetchSeconds) else {
            throw ConfigurationError("\(field).unknownKeyRefetchSeconds must be between 1 and 3600")
        }
        guard (1...60).contains(fetchTimeoutSeconds) else { throw ConfigurationError("\(field).fetchTimeoutSeconds must be between 1 and 60") }
        guard (1024...8 * 1024 * 1024).contains(maxBytes) else {
            throw ConfigurationError("\(field).maxBytes must be between 1024 and 8388608")
        }
    }
}
