import Foundation
import PortcullisCore
@testable import PortcullisVault
import Testing

/// Token responses as each vendor sends them (`research/vault-anchors.md` §1), read through the vendor profiles:
/// errors with HTTP 200, form-encoded answers, Slack's envelope and user token, odd lifetimes.
@Suite("Vendor token responses")
struct VendorQuirkTests {
    static let github = OAuth2VendorProfile.profile(for: "GithubOauth2")
    static let slack = OAuth2VendorProfile.profile(for: "SlackOauth2")
    static let custom = OAuth2VendorProfile.custom

    static func parse(_ body: String, status: Int = 200, type: String? = "application/json", _ profile: OAuth2VendorProfile) throws(VendorTokenError) -> VendorTokenResponse {
        try VendorTokenResponse.parse(status: status, contentType: type, body: Array(body.utf8), profile: profile)
    }

    static func error(_ body: String, status: Int = 200, type: String? = "application/json", _ profile: OAuth2VendorProfile) -> VendorTokenError? {
        do {
            _ = try parse(body, status: status, type: type, profile)
            return nil
        } catch {
            return error
        }
    }

    @Test("B5: GitHub's and Slack's errors with HTTP 200 are failures, classified as dead grants")
    func errorsWith200() {
        #expect(Self.error(#"{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired."}"#, Self.github)?.kind == .invalidGrant)
        #expect(Self.error(#"{"error":"bad_refresh_token"}"#, Self.github)?.kind == .invalidGrant)
        #expect(Self.error(#"{"error":"incorrect_client_credentials"}"#, Self.github)?.kind == .invalidClient)
        #expect(Self.error(#"{"ok":false,"error":"invalid_code"}"#, Self.slack)?.kind == .invalidGrant)
        #expect(Self.error(#"{"ok":false,"error":"invalid_refresh_token"}"#, Self.slack)?.kind == .invalidGrant)
        #expect(Self.error(#"{"ok":false,"error":"ratelimited"}"#, Self.slack)?.kind == .transient)
        // Slack without ok: true is not a success, whatever else it holds.
        #expect(Self.error(#"{"authed_user":{"access_token":"xoxp-1"}}"#, Self.slack)?.code == "not_ok")
        #expect(Self.error(#"{"reason":"Invalid Token!","error":"invalid_grant"}"#, status: 401, Self.custom)?.kind == .invalidGrant)
    }

    @Test("B6: a form-encoded answer reads like JSON; unknown members are ignored; an HTML error page is a clean failure")
    func formats() throws {
        let form = try Self.parse("access_token=gho_abc&scope=repo%2Cuser&token_type=bearer", type: "application/x-www-form-urlencoded", Self.github)
        #expect(form.accessToken == "gho_abc" && form.scope == "repo,user" && form.refreshToken == nil && form.expiresIn == nil)
        let formError = Self.error("error=bad_verification_code&error_description=nope", type: "application/x-www-form-urlencoded", Self.github)
        #expect(formError?.kind == .invalidGrant)
        let extra = try Self.parse(#"{"access_token":"a","refresh_token":"r","expires_in":3600,"api_url":"https://api.zoom.us","nested":{"x":[1,2]}}"#, Self.custom)
        #expect(extra.accessToken == "a" && extra.refreshToken == "r" && extra.expiresIn == 3600)
        #expect(Self.error("<html><body>502 Bad Gateway</body></html>", status: 502, type: "text/html", Self.custom)?.kind == .transient)
        #expect(Self.error("<html>oops</html>", status: 200, type: "text/html", Self.custom)?.kind == .invalidResponse)
        #expect(Self.error(#"{"access_token":"a","dup":1,"dup":2}"#, Self.custom)?.kind == .invalidResponse, "duplicate members are refused by the strict parser")
    }

    @Test("B7: no access token is a failure; expires_in absent means no expiry, zero, negative or unreadable ones are refused, huge ones capped")
    func lifetimes() throws {
        #expect(Self.error(#"{"token_type":"bearer","expires_in":3600}"#, Self.custom)?.code == "no_access_token")
        #expect(Self.error(#"{"access_token":""}"#, Self.custom)?.code == "no_access_token")
        #expect(try Self.parse(#"{"access_token":"a"}"#, Self.custom).expiresIn == nil)
        #expect(try Self.parse(#"{"access_token":"a","expires_in":"7200"}"#, Self.custom).expiresIn == 7200)
        for bad in ["0", "-5", "\"soon\"", "1.5", "true"] {
            #expect(Self.error(#"{"access_token":"a","expires_in":\#(bad)}"#, Self.custom)?.code == "invalid_expires_in", "\(bad)")
        }
        #expect(try Self.parse(#"{"access_token":"a","expires_in":1000000000000}"#, Self.custom).expiresIn == nil, "beyond ten years: no expiry, no overflow")
    }

    @Test("B8: a refresh answer without a refresh token (or with null) keeps none of its own")
    func missingRefreshToken() throws {
        #expect(try Self.parse(#"{"access_token":"a","refresh_token":null}"#, Self.custom).refreshToken == nil)
        #expect(try Self.parse(#"{"access_token":"a","refresh_token":""}"#, Self.custom).refreshToken == nil)
    }

    @Test("B9: Slack's user token is taken from authed_user; a bot token alone is not a user's")
    func slackSlots() throws {
        let both = try Self.parse(
            #"{"ok":true,"access_token":"xoxb-bot","token_type":"bot","authed_user":{"id":"U1","access_token":"xoxp-user","refresh_token":"xoxe-1-r","expires_in":43200,"token_type":"user"}}"#,
            Self.slack
        )
        #expect(both.accessToken == "xoxp-user" && both.refreshToken == "xoxe-1-r" && both.expiresIn == 43200)
        #expect(Self.error(#"{"ok":true,"access_token":"xoxb-bot","token_type":"bot"}"#, Self.slack)?.code == "no_user_token")
        #expect(try Self.parse(#"{"ok":true,"authed_user":{"id":"U1","access_token":"xoxp-only"}}"#, Self.slack).accessToken == "xoxp-only")
    }

    @Test("the vendor profiles carry the documented quirks as data")
    func profiles() {
        #expect(!Self.slack.usesPKCE && Self.slack.scopeSeparator == "," && Self.slack.scopeParameter == "user_scope" && Self.slack.hasOkEnvelope)
        #expect(Self.github.clientAuthentication == .post && Self.github.usesPKCE && Self.github.rotatesRefreshTokens)
        #expect(OAuth2VendorProfile.profile(for: "ZoomOauth2").clientAuthentication == .basic)
        #expect(OAuth2VendorProfile.profile(for: "GoogleOauth2").extraAuthorizationParameters["access_type"] == "offline")
        #expect(OAuth2VendorProfile.profile(for: "MicrosoftOauth2").requiredScopes == ["offline_access"])
        #expect(OAuth2VendorProfile.profile(for: "OktaOauth2").supportsClientCredentials, "tenant-style vendors behave as custom")
        #expect(OAuth2VendorProfile.endpointProblem("http://idp.internal/token", allowInsecure: false) != nil)
        #expect(OAuth2VendorProfile.endpointProblem("http://127.0.0.1:9000/token", allowInsecure: false) == nil)
        #expect(OAuth2VendorProfile.endpointProblem("https://user:pw@idp.example/token", allowInsecure: false) != nil)
    }

    @Test("B12: a requested scope missing from the granted list is found; GitHub's comma lists and including scopes count, silence, Google and other servers do not")
    func grantedScopes() {
        #expect(Self.github.missingScopes(requested: ["repo", "gist"], granted: "repo") == ["gist"])
        #expect(Self.github.missingScopes(requested: ["repo", "gist"], granted: "gist,repo") == [])
        #expect(Self.github.missingScopes(requested: ["public_repo", "read:org"], granted: "repo,admin:org") == [], "repo includes public_repo")
        #expect(Self.github.missingScopes(requested: ["admin:org"], granted: "read:org") == ["admin:org"], "inclusion only goes down")
        #expect(Self.github.missingScopes(requested: ["repo"], granted: "") == [], "a GitHub App token lists no scopes")
        #expect(Self.github.missingScopes(requested: ["repo"], granted: nil) == [], "no scope member: as requested (RFC 6749 §5.1)")
        #expect(Self.slack.missingScopes(requested: ["channels:read", "chat:write"], granted: "channels:read") == ["chat:write"])
        #expect(OAuth2VendorProfile.custom.missingScopes(requested: ["User.Read"], granted: "https://graph.microsoft.com/User.Read") == [], "other servers are not checked")
        let google = OAuth2VendorProfile.profile(for: "GoogleOauth2")
        #expect(google.missingScopes(requested: ["email"], granted: "https://www.googleapis.com/auth/userinfo.email openid") == [], "Google answers other names")
        #expect(OAuth2VendorProfile.profile(for: "MicrosoftOauth2").missingScopes(requested: ["User.Read"], granted: "https://graph.microsoft.com/User.Read") == [])
    }
}
