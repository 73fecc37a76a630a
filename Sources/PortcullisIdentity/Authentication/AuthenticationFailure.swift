public import PortcullisCore

/// Why authentication failed, as a class: precise enough for metrics and audit, never revealing which part of a
/// secret was wrong.
public enum AuthenticationFailure: String, Sendable, CaseIterable {
    case missing = "missing_credentials"
    case ambiguous = "multiple_credentials"
    case unsupportedScheme = "unsupported_scheme"
    case malformed = "malformed_credentials"
    case unknownKey = "unknown_credentials"
    case invalidSecret = "invalid_credentials"
    case revoked = "revoked_credentials"
    case expired = "expired_credentials"
    case unsupportedCredential = "unsupported_credential_type"

    /// The 401 the caller sees. The message names what to do, and is the same for every way a secret can be wrong.
    public var error: AgentCoreError {
        let message: String
        switch self {
        case .missing:
            message = "Missing credentials: send 'Authorization: Bearer <API key or token>' or 'X-API-Key: <API key>'"
        case .ambiguous:
            message = "Send exactly one credential: one Authorization header or one X-API-Key header, not both"
        case .unsupportedScheme:
            message = "Unsupported Authorization scheme; use 'Bearer'"
        case .malformed, .unknownKey, .invalidSecret, .revoked, .expired:
            message = "The credentials are not valid"
        case .unsupportedCredential:
            message = "This gateway does not accept this kind of credential"
        }
        return AgentCoreError(
            .unauthorized,
            message,
            headers: [(name: "WWW-Authenticate", value: #"Bearer realm="portcullis""#)]
        )
    }
}

/// A failed authentication with its reason class, for audit and metrics; ``error`` is what the caller sees.
public struct AuthenticationError: Error, Sendable {
    public var failure: AuthenticationFailure
    public var error: AgentCoreError { failure.error }

    public init(_ failure: AuthenticationFailure) {
        self.failure = failure
    }
}
