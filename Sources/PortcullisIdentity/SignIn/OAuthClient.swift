import Foundation
import PortcullisCore

/// The client side of OAuth 2.0 against an identity provider's token and device endpoints: the authorization code
/// exchange with PKCE, the device authorization grant (RFC 8628), refresh.
public struct OAuthClient: Sendable {
    public let clientId: String
    /// `nil` for public clients, which prove themselves with PKCE only.
    public let clientSecret: String?
    let http: IdentityHTTPClient
    static let timeout = Duration.seconds(15)
    static let maxResponseBytes = 256 * 1024

    public init(clientId: String, clientSecret: String?, http: IdentityHTTPClient = .shared) {
        self.clientId = clientId
        self.clientSecret = clientSecret
        self.http = http
    }

    /// The authorization request URL for the code flow with PKCE S256.
    public func authorizationURL(
        endpoint: String,
        redirectURI: String,
        scopes: [String],
        state: String,
        nonce: String,
        pkce: PKCE
    ) -> String {
        let query = PercentEncoding.encodeForm([
            ("response_type", "code"), ("client_id", clientId), ("redirect_uri", redirectURI),
            ("scope", scopes.joined(separator: " ")), ("state", state), ("nonce", nonce),
            ("code_challenge", pkce.challenge), ("code_challenge_method", "S256"),
        ])
        return endpoint + (endpoint.contains("?") ? "&" : "?") + query
    }

    /// Exchanges an authorization code.
    public func exchange(code: String, redirectURI: String, pkce: PKCE, tokenEndpoint: String) async throws(OAuthError) -> OAuthTokenResponse {
        try await post(tokenEndpoint, [
            ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI), ("code_verifier", pkce.verifier),
        ])
    }

    /// Uses a refresh token.
    public func refresh(_ refreshToken: String, tokenEndpoint: String) async throws(OAuthError) -> OAuthTokenResponse {
        try await post(tokenEndpoint, [("grant_type", "refresh_token"), ("refresh_token", refreshToken)])
    }

    /// What the device authorization endpoint answers.
    public struct DeviceAuthorization: Sendable {
        public var deviceCode: String
        public var userCode: String
        public var verificationURI: String
        public var verificationURIComplete: String?
        public var expiresIn: Int
        public var interval: Int
    }

    public func startDeviceAuthorization(endpoint: String, scopes: [String]) async throws(OAuthError) -> DeviceAuthorization {
        let response = try await send(endpoint, [("scope", scopes.joined(separator: " "))])
        let members: [String: JSONValue]
        do {
            members = try StrictJSON.parseObject(response.body, maxDepth: 8)
        } catch {
            throw OAuthError(code: "invalid_response", description: "the device authorization endpoint answered HTTP \(response.status) without JSON")
        }
        if let error = members["error"]?.stringValue {
            throw OAuthError(code: error, description: members["error_description"]?.stringValue)
        }
        guard let deviceCode = members["device_code"]?.stringValue, let userCode = members["user_code"]?.stringValue,
            let uri = (members["verification_uri"] ?? members["verification_url"])?.stringValue
        else {
            throw OAuthError(code: "invalid_response", description: "the device authorization response lacks device_code, user_code or verification_uri")
        }
        func number(_ name: String) -> Int? {
            if case .number(let value)? = members[name] { return Int(value) }
            return nil
        }
        return DeviceAuthorization(
            deviceCode: deviceCode,
            userCode: userCode,
            verificationURI: uri,
            verificationURIComplete: members["verification_uri_complete"]?.stringValue,
            expiresIn: number("expires_in") ?? 600,
            interval: max(1, number("interval") ?? 5)
        )
    }

    /// Polls the token endpoint until the user approves, honouring `authorization_pending` and `slow_down`.
    public func pollDeviceToken(_ authorization: DeviceAuthorization, tokenEndpoint: String) async throws -> OAuthTokenResponse {
        var interval = authorization.interval
        let deadline = ContinuousClock.now + .seconds(authorization.expiresIn)
        let form = [("grant_type", "urn:ietf:params:oauth:grant-type:device_code"), ("device_code", authorization.deviceCode)]
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .seconds(interval))
            do throws(OAuthError) {
                return try await post(tokenEndpoint, form)
            } catch {
                switch error.code {
                case "authorization_pending": continue
                case "slow_down": interval += 5
                default: throw error
                }
            }
        }
        throw OAuthError(code: "expired_token", description: "the user did not approve in time")
    }

    private func post(_ endpoint: String, _ form: [(String, String)]) async throws(OAuthError) -> OAuthTokenResponse {
        let response = try await send(endpoint, form)
        return try OAuthTokenResponse(status: response.status, body: response.body)
    }

    /// Sends a form with this client's credentials: HTTP Basic for confidential clients (RFC 6749 §2.3.1),
    /// `client_id` alone for public ones.
    private func send(_ endpoint: String, _ form: [(String, String)]) async throws(OAuthError) -> IdentityHTTPClient.Response {
        var fields = form
        var headers: [(String, String)] = []
        if let clientSecret {
            let credentials = PercentEncoding.encodeSegment(clientId) + ":" + PercentEncoding.encodeSegment(clientSecret)
            headers.append(("Authorization", "Basic " + Data(credentials.utf8).base64EncodedString()))
        } else {
            fields.append(("client_id", clientId))
        }
        do {
            return try await http.postForm(endpoint, form: fields, headers: headers, timeout: Self.timeout, maxBytes: Self.maxResponseBytes)
        } catch {
            throw OAuthError(code: "temporarily_unavailable", description: error.description)
        }
    }
}
