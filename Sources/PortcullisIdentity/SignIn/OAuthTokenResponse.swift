import Foundation
import PortcullisCore

/// A token endpoint's answer (RFC 6749 §5.1), or its error (§5.2).
public struct OAuthTokenResponse: Sendable, Equatable {
    public var accessToken: String
    public var tokenType: String
    public var expiresIn: Int?
    public var refreshToken: String?
    public var idToken: String?
    public var scope: String?

    /// Reads a successful response; errors become ``OAuthError``.
    public init(status: Int, body: [UInt8]) throws(OAuthError) {
        let members: [String: JSONValue]
        do {
            members = try StrictJSON.parseObject(body, maxDepth: 8)
        } catch {
            throw OAuthError(code: "invalid_response", description: "the token endpoint answered HTTP \(status) without a JSON object")
        }
        if let error = members["error"]?.stringValue {
            throw OAuthError(code: error, description: members["error_description"]?.stringValue)
        }
        guard (200..<300).contains(status), let accessToken = members["access_token"]?.stringValue, !accessToken.isEmpty else {
            throw OAuthError(code: "invalid_response", description: "the token endpoint answered HTTP \(status) without an access_token")
        }
        self.accessToken = accessToken
        self.tokenType = members["token_type"]?.stringValue ?? "Bearer"
        if case .number(let seconds)? = members["expires_in"] { self.expiresIn = Int(seconds) } else { self.expiresIn = nil }
        self.refreshToken = members["refresh_token"]?.stringValue
        self.idToken = members["id_token"]?.stringValue
        self.scope = members["scope"]?.stringValue
    }
}

/// An OAuth error code and description, from an authorization server or for one. Never carries a token.
public struct OAuthError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: String
    /// `error_description`, shortened.
    public var detail: String?

    public init(code: String, description: String?) {
        self.code = code
        self.detail = description.map { String($0.prefix(300)) }
    }

    public var description: String { detail.map { "\(code): \($0)" } ?? code }
}
