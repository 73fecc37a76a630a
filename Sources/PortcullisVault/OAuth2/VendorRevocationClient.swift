public import Foundation
public import PortcullisCore
public import PortcullisIdentity

/// Asks a vendor to revoke a token, the way the vendor's profile says (``OAuth2VendorProfile/Revocation``), and
/// reads its answer into what the vault does next: done, try again later, or give up.
public struct VendorRevocationClient: Sendable {
    public enum Result: Sendable, Equatable {
        case revoked
        /// The vendor says the token was dead already (revoked, expired, unknown to it).
        case alreadyInvalid
        /// No revocation endpoint for this vendor: the grant is only forgotten.
        case unsupported
        /// Refused for good (the client's credentials, a malformed request); the vendor's code, bounded.
        case rejected(String)
        /// Down, slow or throttling: worth another try.
        case transient(String)
        /// The queued tokens or the client secret do not open (a key not loaded, a row tampered with).
        case unreadable

        /// The audit's `details.result`.
        public var name: String {
            switch self {
            case .revoked: return "revoked"
            case .alreadyInvalid: return "alreadyInvalid"
            case .unsupported: return "unsupported"
            case .rejected: return "rejected"
            case .transient: return "retrying"
            case .unreadable: return "unreadable"
            }
        }
    }

    static let maxResponseBytes = 16 * 1024
    /// Slack's spellings of a token that no longer works, besides the token endpoint's (`token_revoked`, …).
    static let deadTokenCodes: Set<String> = ["invalid_auth", "not_authed", "account_inactive"]

    let http: IdentityHTTPClient
    let configuration: VaultConfiguration
    let timeout: Duration

    public init(configuration: VaultConfiguration, http: IdentityHTTPClient = .shared, timeout: Duration = .seconds(10)) {
        self.configuration = configuration
        self.http = http
        self.timeout = timeout
    }

    /// Where and how `client`'s tokens are revoked; `nil` when they cannot be. A `vault.vendorEndpoints` override
    /// stands for all of a vendor's endpoints; otherwise a discovered `revocation_endpoint` comes before the
    /// vendor's own.
    func endpoint(for client: OAuth2Tokens.Client) -> (url: String, style: OAuth2VendorProfile.Revocation)? {
        let profile = client.profile
        let template: String?
        var style = profile.revocation
        if let override = configuration.vendorEndpoints[profile.vendor] {
            template = override.revocationEndpoint
        } else if let discovered = client.registration.revocationEndpoint {
            template = discovered
            if style == .unsupported { style = .rfc7009 }
        } else {
            template = profile.revocationEndpoint
        }
        guard style != .unsupported, let template else { return nil }
        return (OAuth2VendorProfile.revocationURL(template, clientId: client.registration.clientId), style)
    }

    /// Revokes the grant: RFC 7009 servers get the refresh token when there is one (which ends the grant's access
    /// tokens too), Slack and GitHub the access token, which is what their endpoints take.
    public func revoke(accessToken: String, refreshToken: String?, client: OAuth2Tokens.Client) async -> Result {
        guard let (url, style) = endpoint(for: client) else { return .unsupported }
        if let problem = OAuth2VendorProfile.endpointProblem(url, allowInsecure: configuration.allowInsecureEndpoints) {
            return .rejected("the revocation endpoint \(problem)")
        }
        let secret: String
        do {
            secret = try client.secret()
        } catch {
            return .unreadable
        }
        let response: IdentityHTTPClient.Response
        do {
            switch style {
            case .rfc7009:
                let (token, hint) = refreshToken.map { ($0, "refresh_token") } ?? (accessToken, "access_token")
                let authentication = VendorTokenClient.clientAuthentication(client.registration, secret: secret)
                response = try await http.postForm(
                    url, form: [("token", token), ("token_type_hint", hint)] + authentication.fields, headers: authentication.headers,
                    timeout: timeout, maxBytes: Self.maxResponseBytes
                )
            case .slack:
                response = try await http.postForm(
                    url, form: [], headers: [("Authorization", "Bearer " + accessToken)], timeout: timeout, maxBytes: Self.maxResponseBytes
                )
            case .github:
                let basic = VendorTokenClient.basicAuthorization(clientId: client.registration.clientId, secret: secret)
                response = try await http.send(
                    method: "DELETE", url, body: JSONValue.object(["access_token": .string(accessToken)]).serialized(), contentType: "application/json",
                    headers: [("Authorization", basic), ("Accept", "application/vnd.github+json"), ("X-GitHub-Api-Version", "2022-11-28")],
                    timeout: timeout, maxBytes: Self.maxResponseBytes
                )
            case .unsupported:
                return .unsupported
            }
        } catch {
            return .transient("unreachable")
        }
        return Self.read(status: response.status, body: response.body, style: style)
    }

    /// What the vendor's answer means. RFC 7009 answers 200 for a token that was already invalid, so 200 is done
    /// whatever the body; Slack answers its `ok` envelope with 200 either way; GitHub 204, or 422 for a token it
    /// does not know.
    static func read(status: Int, body: [UInt8], style: OAuth2VendorProfile.Revocation) -> Result {
        let members = try? StrictJSON.parseObject(body, maxDepth: 8)
        let code = members?["error"]?.stringValue
        switch style {
        case .slack where status == 200:
            if members?["ok"] == .bool(true) { return .revoked }
            return classify(status: status, code: code ?? "not_ok")
        case .github where status == 422:
            // GitHub's answer for a token it does not know (404 is its answer for wrong client credentials).
            return .alreadyInvalid
        default:
            if (200..<300).contains(status) { return .revoked }
            // Zoom names a dead token in `reason` ("Invalid Token!") beside a generic `error`.
            if let reason = members?["reason"]?.stringValue, VendorTokenError.deadGrantCodes.contains(reason.lowercased()) { return .alreadyInvalid }
            return classify(status: status, code: code)
        }
    }

    private static func classify(status: Int, code: String?) -> Result {
        let error = VendorTokenError.classify(status: status, code: code, description: nil)
        if deadTokenCodes.contains(error.code.lowercased()) { return .alreadyInvalid }
        switch error.kind {
        case .invalidGrant: return .alreadyInvalid
        case .transient: return .transient(error.code)
        case .invalidClient, .refused, .invalidResponse: return .rejected(error.code)
        }
    }
}
