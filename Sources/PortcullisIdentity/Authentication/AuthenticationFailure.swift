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
    // Bearer tokens (JWTs).
    case malformedToken = "malformed_token"
    case tokenTooLarge = "token_too_large"
    case untrustedIssuer = "untrusted_issuer"
    case issuerUnavailable = "issuer_unavailable"
    case unknownSigningKey = "unknown_signing_key"
    case invalidSignature = "invalid_signature"
    case tokenExpired = "token_expired"
    case tokenNotYetValid = "token_not_yet_valid"
    case wrongAudience = "wrong_audience"
    case wrongClient = "wrong_client"
    case wrongTokenType = "wrong_token_type"
    case tokenRefused = "token_refused"
    // AWS Signature Version 4.
    case malformedSignature = "malformed_signature"
    case unknownAccessKey = "unknown_access_key"
    case signatureMismatch = "signature_mismatch"
    case requestTimeSkewed = "request_time_skewed"

    /// Whether the failure concerns a bearer token, answered with an RFC 6750 `invalid_token` challenge.
    public var isTokenFailure: Bool {
        switch self {
        case .malformedToken, .tokenTooLarge, .untrustedIssuer, .issuerUnavailable, .unknownSigningKey, .invalidSignature,
            .tokenExpired, .tokenNotYetValid, .wrongAudience, .wrongClient, .wrongTokenType, .tokenRefused:
            true
        default:
            false
        }
    }

    /// What the caller is told: what to do, never which part of a secret was wrong.
    public var message: String {
        switch self {
        case .missing:
            "Missing credentials: send 'Authorization: Bearer <API key or token>', 'X-API-Key: <API key>' or an AWS Signature V4"
        case .ambiguous:
            "Send exactly one credential: one Authorization header or one X-API-Key header, not both"
        case .unsupportedScheme:
            "Unsupported Authorization scheme; use 'Bearer' or 'AWS4-HMAC-SHA256'"
        case .malformed, .unknownKey, .invalidSecret, .revoked, .expired:
            "The credentials are not valid"
        case .unsupportedCredential:
            "This gateway does not accept this kind of credential"
        case .malformedToken, .invalidSignature, .unknownSigningKey:
            "The bearer token is not valid"
        case .tokenTooLarge:
            "The bearer token is too large"
        case .untrustedIssuer:
            "The bearer token was not issued by a trusted identity provider"
        case .issuerUnavailable:
            "The bearer token's identity provider cannot be reached to verify it; try again later"
        case .tokenExpired:
            "The bearer token has expired"
        case .tokenNotYetValid:
            "The bearer token is not valid yet"
        case .wrongAudience:
            "The bearer token was not issued for this resource (audience)"
        case .wrongClient:
            "The bearer token was issued to a client that is not allowed here"
        case .wrongTokenType:
            "The bearer token is not an access token"
        case .tokenRefused:
            "The bearer token is not accepted here"
        case .malformedSignature:
            "The Authorization header or presigned URL is not a well-formed AWS Signature Version 4 for service bedrock-agentcore"
        case .unknownAccessKey:
            "The security token included in the request is invalid"
        case .signatureMismatch:
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."
        case .requestTimeSkewed:
            "Signature expired: the request time is too far from the server's time"
        }
    }

    /// The 401 the caller sees, with the challenge that fits the credential.
    public var error: AgentCoreError { error(challenge: BearerChallenge()) }

    /// The 401 with a bearer challenge naming the protected resource's metadata (RFC 9728), so OAuth clients can
    /// find the authorization server.
    public func error(challenge: BearerChallenge) -> AgentCoreError {
        // SigV4 failures answer the way AWS endpoints do, so SDKs raise the exceptions their users know.
        switch self {
        case .malformedSignature: return AgentCoreError(.incompleteSignature, message)
        case .unknownAccessKey: return AgentCoreError(.unrecognizedClient, message)
        case .signatureMismatch, .requestTimeSkewed: return AgentCoreError(.invalidSignature, message)
        default: break
        }
        var challenge = challenge
        if isTokenFailure {
            challenge.error = "invalid_token"
            challenge.errorDescription = message
        }
        return AgentCoreError(.unauthorized, message, headers: [(name: "WWW-Authenticate", value: challenge.headerValue)])
    }
}

/// A `WWW-Authenticate: Bearer` challenge (RFC 6750 §3, RFC 9728 §5.1).
public struct BearerChallenge: Sendable, Equatable {
    public var realm = "portcullis"
    public var error: String?
    public var errorDescription: String?
    /// Space-separated scopes, for `insufficient_scope`.
    public var scope: String?
    public var resourceMetadataURL: String?

    public init(error: String? = nil, errorDescription: String? = nil, scope: String? = nil, resourceMetadataURL: String? = nil) {
        self.error = error
        self.errorDescription = errorDescription
        self.scope = scope
        self.resourceMetadataURL = resourceMetadataURL
    }

    /// The header value; quoted strings lose characters RFC 6750 does not allow in them.
    public var headerValue: String {
        var parameters = ["realm=\(Self.quoted(realm))"]
        if let error { parameters.append("error=\(Self.quoted(error))") }
        if let errorDescription { parameters.append("error_description=\(Self.quoted(errorDescription))") }
        if let scope { parameters.append("scope=\(Self.quoted(scope))") }
        if let resourceMetadataURL { parameters.append("resource_metadata=\(Self.quoted(resourceMetadataURL))") }
        return "Bearer " + parameters.joined(separator: ", ")
    }

    /// RFC 6750 limits these values to `%x20-21 / %x23-5B / %x5D-7E`: no quotes, backslashes or controls.
    static func quoted(_ text: String) -> String {
        let allowed = text.unicodeScalars.filter { scalar in
            let value = scalar.value
            return value == 0x20 || value == 0x21 || (0x23...0x5B).contains(value) || (0x5D...0x7E).contains(value)
        }
        return "\"" + String(String.UnicodeScalarView(allowed)) + "\""
    }
}

/// A failed authentication with its reason class, for audit and metrics; ``error`` is what the caller sees.
public struct AuthenticationError: Error, Sendable, CustomStringConvertible {
    public var failure: AuthenticationFailure
    /// What exactly was wrong, for logs only: never a token, key or secret, never sent to the caller.
    public var detail: String?

    public init(_ failure: AuthenticationFailure, _ detail: String? = nil) {
        self.failure = failure
        self.detail = detail
    }

    public var error: AgentCoreError { failure.error }

    public var description: String { detail.map { "\(failure.rawValue): \($0)" } ?? failure.rawValue }
}
