public import Foundation
public import PortcullisCore

/// A token endpoint's answer, read through the vendor's profile: the user's (or client's) access token, the
/// refresh token if one came, and how long the access token lives.
public struct VendorTokenResponse: Sendable, Equatable {
    public var accessToken: String
    /// `nil` when the response had none (or `null`): the stored one is kept.
    public var refreshToken: String?
    /// Seconds, bounded; `nil` when the vendor did not say (the token is taken not to expire).
    public var expiresIn: Int?
    /// The granted scopes as the vendor lists them, when it does.
    public var scope: String?

    /// A lifetime beyond ten years is taken as "does not expire"; zero, negative or unreadable ones are refused.
    static let maxExpiresIn = 10 * 365 * 86_400

    public init(accessToken: String, refreshToken: String?, expiresIn: Int?, scope: String?) {
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.expiresIn = expiresIn
        self.scope = scope
    }

    /// Reads a token response body as the vendor sends it: JSON (with Slack's `ok` envelope and `authed_user`
    /// token), or `application/x-www-form-urlencoded` (GitHub without `Accept: application/json`). Errors come back
    /// with HTTP 200 from Slack and GitHub, so the body is read whatever the status.
    /// - Throws: ``VendorTokenError`` classified as terminal (`invalid_grant` and its vendor spellings), a client
    ///   problem, or transient (5xx, 429, unreadable answers).
    public static func parse(status: Int, contentType: String?, body: [UInt8], profile: OAuth2VendorProfile) throws(VendorTokenError) -> VendorTokenResponse {
        let members: [String: JSONValue]
        let isForm = contentType?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true
        if isForm {
            let parameters = QueryParameters(String(decoding: body, as: UTF8.self))
            guard parameters.isValid else {
                throw VendorTokenError.classify(status: status, code: nil, description: "the token endpoint answered a malformed form")
            }
            members = Dictionary(uniqueKeysWithValues: parameters.withPrefix("").map { ($0.name, JSONValue.string($0.value)) })
        } else if let parsed = try? StrictJSON.parseObject(body, maxDepth: 8) {
            members = parsed
        } else {
            throw VendorTokenError.classify(status: status, code: nil, description: "the token endpoint answered HTTP \(status) without a readable token response")
        }
        if profile.hasOkEnvelope, members["ok"] != .bool(true) {
            throw VendorTokenError.classify(status: status, code: members["error"]?.stringValue ?? "not_ok", description: nil)
        }
        if let code = members["error"]?.stringValue {
            throw VendorTokenError.classify(status: status, code: code, description: members["error_description"]?.stringValue)
        }
        guard (200..<300).contains(status) else {
            throw VendorTokenError.classify(status: status, code: nil, description: "the token endpoint answered HTTP \(status)")
        }
        var token = members
        if let member = profile.userTokenMember {
            // Slack: the user's token is under authed_user; a bot token at the top level is not the user's.
            guard case .object(let nested)? = members[member] else {
                throw VendorTokenError(kind: .invalidResponse, code: "no_user_token", description: "the response has no \(member) token")
            }
            token = nested
        }
        guard let accessToken = token["access_token"]?.stringValue, !accessToken.isEmpty, accessToken.utf8.count <= 131_072 else {
            throw VendorTokenError(kind: .invalidResponse, code: "no_access_token", description: "the response has no access_token")
        }
        let refreshToken = token["refresh_token"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        return VendorTokenResponse(
            accessToken: accessToken, refreshToken: refreshToken, expiresIn: try expiresIn(token["expires_in"]), scope: token["scope"]?.stringValue
        )
    }

    /// `expires_in` as a number or a numeric string; absent is `nil` (no expiry).
    static func expiresIn(_ value: JSONValue?) throws(VendorTokenError) -> Int? {
        let seconds: Double
        switch value {
        case nil, .null?: return nil
        case .number(let number)?: seconds = number
        case .string(let text)?:
            guard let number = Double(text) else { throw invalidLifetime }
            seconds = number
        default: throw invalidLifetime
        }
        guard seconds.isFinite, seconds >= 1, seconds.rounded() == seconds else { throw invalidLifetime }
        return seconds > Double(maxExpiresIn) ? nil : Int(seconds)
    }

    private static var invalidLifetime: VendorTokenError {
        VendorTokenError(kind: .invalidResponse, code: "invalid_expires_in", description: "expires_in is not a positive number of seconds")
    }
}

/// Why a token endpoint did not give a token, by what the vault must do about it.
public struct VendorTokenError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The grant (code or refresh token) is dead: re-consent is needed. Never retried.
        case invalidGrant = "invalid_grant"
        /// The client registration is wrong (`invalid_client`, …): the provider, not the user's grant, is at fault.
        case invalidClient = "invalid_client"
        /// The vendor is down, slow or throttling: try again later; an unexpired token may still be served.
        case transient
        /// The answer did not make sense.
        case invalidResponse = "invalid_response"
        /// Refused for another reason (`access_denied`, `invalid_scope`, …).
        case refused
    }

    public var kind: Kind
    /// The vendor's error code, as it sent it (never a token).
    public var code: String
    public var description: String

    public init(kind: Kind, code: String, description: String?) {
        self.kind = kind
        self.code = code
        self.description = description ?? code
    }

    /// The vendors' spellings of a dead grant: OAuth's `invalid_grant`, GitHub's `bad_verification_code` and
    /// `bad_refresh_token`, Slack's `invalid_code` and `invalid_refresh_token`, Zoom's `Invalid Token!`.
    static let deadGrantCodes: Set<String> = [
        "invalid_grant", "bad_verification_code", "bad_refresh_token", "invalid_code", "invalid_refresh_token", "invalid_token",
        "token_revoked", "token_expired", "expired_token", "code_already_used", "invalid token!",
    ]
    static let clientCodes: Set<String> = [
        "invalid_client", "incorrect_client_credentials", "unauthorized_client", "invalid_client_id", "bad_client_secret",
        "redirect_uri_mismatch", "invalid_redirect_uri", "bad_redirect_uri",
    ]

    static func classify(status: Int, code: String?, description: String?) -> VendorTokenError {
        if let code {
            let lowered = code.lowercased()
            // A vendor's error text goes to logs and audit only in this bounded, printable form.
            let shown = String(code.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F }.prefix(64).map(Character.init))
            if deadGrantCodes.contains(lowered) { return VendorTokenError(kind: .invalidGrant, code: shown, description: description) }
            if clientCodes.contains(lowered) { return VendorTokenError(kind: .invalidClient, code: shown, description: description) }
            if status >= 500 || status == 429 || ["temporarily_unavailable", "server_error", "ratelimited", "rate_limited"].contains(lowered) {
                return VendorTokenError(kind: .transient, code: shown, description: description)
            }
            return VendorTokenError(kind: .refused, code: shown, description: description)
        }
        if status >= 500 || status == 429 || status == 408 {
            return VendorTokenError(kind: .transient, code: "http_\(status)", description: description)
        }
        return VendorTokenError(kind: .invalidResponse, code: "http_\(status)", description: description)
    }
}
