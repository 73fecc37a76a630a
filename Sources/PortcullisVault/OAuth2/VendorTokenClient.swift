public import Foundation
public import PortcullisCore
public import PortcullisIdentity

/// Talks to vendors' token endpoints the way each one wants (``OAuth2VendorProfile``): client authentication in
/// the header or the body, `Accept: application/json` (GitHub answers a form without it), no redirects, a time
/// limit well inside the refresh lease, bounded answers.
public struct VendorTokenClient: Sendable {
    static let maxResponseBytes = 256 * 1024

    let http: IdentityHTTPClient
    /// Shorter than the refresh lease, so a lease never runs out while its holder waits on the vendor.
    let timeout: Duration

    public init(http: IdentityHTTPClient = .shared, timeout: Duration = .seconds(15)) {
        self.http = http
        self.timeout = timeout
    }

    /// The authorization code grant (with the PKCE verifier when the flow used one).
    public func exchange(
        code: String, verifier: String?, redirectURI: String, registration: OAuth2ClientRegistration, secret: String, profile: OAuth2VendorProfile
    ) async throws(VendorTokenError) -> VendorTokenResponse {
        var form = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI)]
        if let verifier { form.append(("code_verifier", verifier)) }
        return try await post(form, registration: registration, secret: secret, profile: profile)
    }

    public func refresh(
        _ refreshToken: String, registration: OAuth2ClientRegistration, secret: String, profile: OAuth2VendorProfile
    ) async throws(VendorTokenError) -> VendorTokenResponse {
        try await post([("grant_type", "refresh_token"), ("refresh_token", refreshToken)], registration: registration, secret: secret, profile: profile)
    }

    /// The client-credentials grant, with RFC 8707 resources and audiences when asked for.
    public func clientCredentials(
        scopes: [String], resources: [String], audiences: [String], registration: OAuth2ClientRegistration, secret: String,
        profile: OAuth2VendorProfile
    ) async throws(VendorTokenError) -> VendorTokenResponse {
        var form = [("grant_type", "client_credentials")]
        if !scopes.isEmpty { form.append(("scope", scopes.joined(separator: " "))) }
        for resource in resources { form.append(("resource", resource)) }
        for audience in audiences { form.append(("audience", audience)) }
        return try await post(form, registration: registration, secret: secret, profile: profile)
    }

    private func post(
        _ form: [(String, String)], registration: OAuth2ClientRegistration, secret: String, profile: OAuth2VendorProfile
    ) async throws(VendorTokenError) -> VendorTokenResponse {
        let authentication = Self.clientAuthentication(registration, secret: secret)
        let response: IdentityHTTPClient.Response
        do {
            response = try await http.postForm(
                registration.tokenEndpoint, form: form + authentication.fields, headers: authentication.headers, timeout: timeout,
                maxBytes: Self.maxResponseBytes
            )
        } catch {
            throw VendorTokenError(kind: .transient, code: "unreachable", description: error.description)
        }
        return try VendorTokenResponse.parse(status: response.status, contentType: response.contentType, body: response.body, profile: profile)
    }

    /// How the client proves itself to the vendor's endpoints: a header, or form fields.
    static func clientAuthentication(_ registration: OAuth2ClientRegistration, secret: String) -> (headers: [(String, String)], fields: [(String, String)]) {
        switch registration.clientAuthentication {
        case .basic: return ([("Authorization", basicAuthorization(clientId: registration.clientId, secret: secret))], [])
        case .post: return ([], [("client_id", registration.clientId), ("client_secret", secret)])
        }
    }

    /// RFC 6749 §2.3.1: both parts form-encoded before Base64.
    static func basicAuthorization(clientId: String, secret: String) -> String {
        let credentials = PercentEncoding.encodeSegment(clientId) + ":" + PercentEncoding.encodeSegment(secret)
        return "Basic " + Data(credentials.utf8).base64EncodedString()
    }
}
