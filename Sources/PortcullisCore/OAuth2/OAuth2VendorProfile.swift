public import Foundation

/// How one OAuth 2.0 vendor differs from the RFC, as data: where it lives, how it wants the client to
/// authenticate, how it answers, how it fails and how its refresh tokens behave. The vault's token client reads
/// these fields and has no vendor branches of its own, so each quirk is a row a test can name
/// (`research/vault-anchors.md` §1).
public struct OAuth2VendorProfile: Sendable, Equatable {
    /// How the client proves itself at the token endpoint.
    public enum ClientAuthentication: String, Sendable, Codable {
        /// HTTP Basic with `client_id:client_secret` (RFC 6749 §2.3.1).
        case basic = "client_secret_basic"
        /// `client_id` and `client_secret` in the form body.
        case post = "client_secret_post"
    }

    /// How the vendor takes a token back, which the vault asks for when it deletes a grant (its provider or its
    /// workload was deleted), so no live token outlives the vault's copy.
    public enum Revocation: String, Sendable, Equatable {
        /// RFC 7009: `POST` the form `token` (the refresh token when there is one, which ends the whole grant) with
        /// `token_type_hint` and the client's authentication (Zoom, Google, Salesforce, LinkedIn, discovered servers).
        case rfc7009
        /// Slack's `auth.revoke`: `POST` with the token itself as the bearer; the `ok` envelope with HTTP 200.
        case slack
        /// GitHub's `DELETE /applications/{client_id}/token`: HTTP Basic with the client's id and secret, the token
        /// in a JSON body; 204 when it was revoked (`…/grant` would end every token of the user for the app).
        case github
        /// The vendor has no per-token revocation (Microsoft Entra, Atlassian): the grant is only forgotten.
        case unsupported
    }

    /// The AgentCore `credentialProviderVendor` name.
    public var vendor: String
    /// `nil` where the provider configuration must name them (tenant-style and custom vendors).
    public var authorizationEndpoint: String?
    public var tokenEndpoint: String?
    public var clientAuthentication: ClientAuthentication
    /// Between scopes in the authorization request (Slack: `,`).
    public var scopeSeparator: String
    /// The authorization parameter the user's scopes go in (Slack: `user_scope`, whose token is the user's).
    public var scopeParameter: String
    /// Whether to send PKCE S256 (off for Slack, where turning it on makes the app public for good).
    public var usesPKCE: Bool
    /// Slack's Web API envelope: `{"ok": true, …}` or `{"ok": false, "error": "…"}`, with HTTP 200 either way.
    public var hasOkEnvelope: Bool
    /// Where the user's token sits in the token response (Slack: under `authed_user`); `nil`: at the top level.
    public var userTokenMember: String?
    /// Whether each refresh returns a new refresh token and revokes the used one (Slack with rotation, Zoom,
    /// GitHub Apps): a lost refresh response, or two concurrent refreshes, then ends the grant.
    public var rotatesRefreshTokens: Bool
    /// Extra authorization parameters the vendor needs for a refresh token (Google: `access_type=offline`).
    public var extraAuthorizationParameters: [String: String]
    /// Scopes always requested (Microsoft: `offline_access`, without which there is no refresh token).
    public var requiredScopes: [String]
    /// Whether the client-credentials grant (M2M) is offered.
    public var supportsClientCredentials: Bool
    /// Whether the `scope` of a token response is the granted scopes by their requested names, so a requested one
    /// missing from it was not granted: GitHub and Slack document it so. Other servers answer other names (Google
    /// and Entra URIs and resource-qualified scopes, expanded aliases, Zoom's granular scopes) and are not checked.
    public var listsGrantedScopes: Bool
    /// Scopes that include others (GitHub's `repo` includes `public_repo`): a token granted the first satisfies a
    /// request for the others.
    public var impliedScopes: [String: Set<String>]
    public var revocation: Revocation
    /// The vendor's revocation endpoint; `{client_id}` stands for the client id. `nil`: none of its own (a
    /// discovered `revocation_endpoint`, or a `vault.vendorEndpoints` override, may name one).
    public var revocationEndpoint: String?

    public init(
        vendor: String,
        authorizationEndpoint: String? = nil,
        tokenEndpoint: String? = nil,
        clientAuthentication: ClientAuthentication = .basic,
        scopeSeparator: String = " ",
        scopeParameter: String = "scope",
        usesPKCE: Bool = true,
        hasOkEnvelope: Bool = false,
        userTokenMember: String? = nil,
        rotatesRefreshTokens: Bool = false,
        extraAuthorizationParameters: [String: String] = [:],
        requiredScopes: [String] = [],
        supportsClientCredentials: Bool = false,
        listsGrantedScopes: Bool = false,
        impliedScopes: [String: Set<String>] = [:],
        revocation: Revocation = .rfc7009,
        revocationEndpoint: String? = nil
    ) {
        self.revocation = revocation
        self.revocationEndpoint = revocationEndpoint
        self.listsGrantedScopes = listsGrantedScopes
        self.impliedScopes = impliedScopes
        self.vendor = vendor
        self.authorizationEndpoint = authorizationEndpoint
        self.tokenEndpoint = tokenEndpoint
        self.clientAuthentication = clientAuthentication
        self.scopeSeparator = scopeSeparator
        self.scopeParameter = scopeParameter
        self.usesPKCE = usesPKCE
        self.hasOkEnvelope = hasOkEnvelope
        self.userTokenMember = userTokenMember
        self.rotatesRefreshTokens = rotatesRefreshTokens
        self.extraAuthorizationParameters = extraAuthorizationParameters
        self.requiredScopes = requiredScopes
        self.supportsClientCredentials = supportsClientCredentials
    }

    /// The vendors with a profile of their own; the others of AgentCore's list are tenant-style (they take their
    /// endpoints from the provider configuration) and behave as ``custom``.
    public static let known: [String: OAuth2VendorProfile] = [
        "SlackOauth2": OAuth2VendorProfile(
            vendor: "SlackOauth2",
            authorizationEndpoint: "https://slack.com/oauth/v2/authorize",
            tokenEndpoint: "https://slack.com/api/oauth.v2.access",
            clientAuthentication: .basic,
            scopeSeparator: ",",
            scopeParameter: "user_scope",
            usesPKCE: false,
            hasOkEnvelope: true,
            userTokenMember: "authed_user",
            rotatesRefreshTokens: true,
            listsGrantedScopes: true,
            revocation: .slack,
            revocationEndpoint: "https://slack.com/api/auth.revoke"
        ),
        "ZoomOauth2": OAuth2VendorProfile(
            vendor: "ZoomOauth2",
            authorizationEndpoint: "https://zoom.us/oauth/authorize",
            tokenEndpoint: "https://zoom.us/oauth/token",
            clientAuthentication: .basic,
            scopeSeparator: " ",
            rotatesRefreshTokens: true,
            revocationEndpoint: "https://zoom.us/oauth/revoke"
        ),
        // OAuth Apps and GitHub Apps share the endpoints; App user tokens expire and rotate their refresh tokens.
        "GithubOauth2": OAuth2VendorProfile(
            vendor: "GithubOauth2",
            authorizationEndpoint: "https://github.com/login/oauth/authorize",
            tokenEndpoint: "https://github.com/login/oauth/access_token",
            clientAuthentication: .post,
            scopeSeparator: " ",
            rotatesRefreshTokens: true,
            listsGrantedScopes: true,
            impliedScopes: githubImpliedScopes,
            revocation: .github,
            revocationEndpoint: "https://api.github.com/applications/{client_id}/token"
        ),
        "GoogleOauth2": OAuth2VendorProfile(
            vendor: "GoogleOauth2",
            authorizationEndpoint: "https://accounts.google.com/o/oauth2/v2/auth",
            tokenEndpoint: "https://oauth2.googleapis.com/token",
            clientAuthentication: .post,
            extraAuthorizationParameters: ["access_type": "offline", "prompt": "consent"],
            revocationEndpoint: "https://oauth2.googleapis.com/revoke"
        ),
        "SalesforceOauth2": OAuth2VendorProfile(
            vendor: "SalesforceOauth2",
            authorizationEndpoint: "https://login.salesforce.com/services/oauth2/authorize",
            tokenEndpoint: "https://login.salesforce.com/services/oauth2/token",
            clientAuthentication: .post,
            revocationEndpoint: "https://login.salesforce.com/services/oauth2/revoke"
        ),
        "AtlassianOauth2": OAuth2VendorProfile(
            vendor: "AtlassianOauth2",
            authorizationEndpoint: "https://auth.atlassian.com/authorize",
            tokenEndpoint: "https://auth.atlassian.com/oauth/token",
            clientAuthentication: .post,
            rotatesRefreshTokens: true,
            extraAuthorizationParameters: ["audience": "api.atlassian.com", "prompt": "consent"],
            revocation: .unsupported
        ),
        "LinkedinOauth2": OAuth2VendorProfile(
            vendor: "LinkedinOauth2",
            authorizationEndpoint: "https://www.linkedin.com/oauth/v2/authorization",
            tokenEndpoint: "https://www.linkedin.com/oauth/v2/accessToken",
            clientAuthentication: .post,
            revocationEndpoint: "https://www.linkedin.com/oauth/v2/revoke"
        ),
        "MicrosoftOauth2": OAuth2VendorProfile(
            vendor: "MicrosoftOauth2",
            clientAuthentication: .post,
            requiredScopes: ["offline_access"],
            supportsClientCredentials: true,
            revocation: .unsupported
        ),
    ]

    /// GitHub's OAuth App scopes that include others (its scope documentation): a user who granted `repo` earlier
    /// gets `repo` back when `public_repo` is asked for.
    static let githubImpliedScopes: [String: Set<String>] = [
        "repo": ["repo:status", "repo_deployment", "public_repo", "repo:invite", "security_events"],
        "admin:repo_hook": ["write:repo_hook", "read:repo_hook"],
        "write:repo_hook": ["read:repo_hook"],
        "admin:org": ["write:org", "read:org", "manage_runners:org"],
        "write:org": ["read:org"],
        "admin:public_key": ["write:public_key", "read:public_key"],
        "write:public_key": ["read:public_key"],
        "admin:gpg_key": ["write:gpg_key", "read:gpg_key"],
        "write:gpg_key": ["read:gpg_key"],
        "admin:ssh_signing_key": ["write:ssh_signing_key", "read:ssh_signing_key"],
        "write:ssh_signing_key": ["read:ssh_signing_key"],
        "user": ["read:user", "user:email", "user:follow"],
        "project": ["read:project"],
        "write:discussion": ["read:discussion"],
        "write:packages": ["read:packages"],
        "admin:enterprise": ["manage_runners:enterprise", "manage_billing:enterprise", "read:enterprise"],
        "codespace": ["codespace:secrets"],
    ]

    /// Any OAuth 2.0 authorization server, configured by discovery or explicit metadata.
    public static let custom = OAuth2VendorProfile(vendor: "CustomOauth2", supportsClientCredentials: true)

    /// AgentCore's `credentialProviderVendor` values.
    public static let vendors: Set<String> = [
        "GoogleOauth2", "GithubOauth2", "SlackOauth2", "SalesforceOauth2", "MicrosoftOauth2", "CustomOauth2", "AtlassianOauth2",
        "LinkedinOauth2", "XOauth2", "OktaOauth2", "OneLoginOauth2", "PingOneOauth2", "FacebookOauth2", "YandexOauth2", "RedditOauth2",
        "ZoomOauth2", "TwitchOauth2", "SpotifyOauth2", "DropboxOauth2", "NotionOauth2", "HubspotOauth2", "CyberArkOauth2",
        "FusionAuthOauth2", "Auth0Oauth2", "CognitoOauth2",
    ]

    /// The profile of `vendor`: its own, or the custom one under its name.
    public static func profile(for vendor: String) -> OAuth2VendorProfile {
        if let known = known[vendor] { return known }
        var profile = custom
        profile.vendor = vendor
        return profile
    }
}

extension OAuth2VendorProfile {
    /// Why `url` cannot be an authorization server endpoint, or `nil`: it must be absolute `https://` (plain
    /// `http://` only to a loopback host, or anywhere with `allowInsecure`), without user info or fragment.
    public static func endpointProblem(_ url: String, allowInsecure: Bool) -> String? {
        guard url.utf8.count <= 2048, url.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7F }),
            let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), let host = components.host, !host.isEmpty
        else { return "is not an absolute URL" }
        guard components.user == nil, components.password == nil, components.fragment == nil else { return "must not carry user information or a fragment" }
        let loopback = ["localhost", "127.0.0.1", "::1", "[::1]"].contains(host.lowercased())
        guard scheme == "https" || (scheme == "http" && (loopback || allowInsecure)) else {
            return "must use https (http only on loopback, or with vault.allowInsecureEndpoints)"
        }
        return nil
    }

    /// A revocation endpoint with the client id (percent-encoded) in place of `{client_id}`.
    public static func revocationURL(_ template: String, clientId: String) -> String {
        template.replacingOccurrences(of: "{client_id}", with: PercentEncoding.encodeSegment(clientId))
    }
}

extension OAuth2VendorProfile {
    /// The requested scopes a token response's `scope` shows were not granted (B12), in request order. Nothing is
    /// missing when the vendor is not checked (``listsGrantedScopes``) or listed no scopes at all (RFC 6749: the
    /// scope is as requested; GitHub App tokens carry permissions instead). The list may use spaces or commas
    /// whatever the vendor's request separator (GitHub answers `repo,gist`); requested scopes contain neither.
    public func missingScopes(requested: [String], granted: String?) -> [String] {
        guard listsGrantedScopes, let granted else { return [] }
        let listed = Set(granted.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init))
        guard !listed.isEmpty else { return [] }
        let covered = listed.union(listed.flatMap { impliedScopes[$0] ?? [] })
        return requested.filter { !covered.contains($0) }
    }
}
