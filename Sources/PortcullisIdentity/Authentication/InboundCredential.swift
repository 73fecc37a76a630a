public import HTTPTypes
public import PortcullisCore

/// The one credential a request carries, classified once so each authenticator looks only at its own kind.
public enum InboundCredential: Sendable, Equatable {
    /// A Portcullis API key, from `Authorization: Bearer` or `X-API-Key`.
    case apiKey(String)
    /// Any other bearer token (a JWT for the token authenticators).
    case bearerToken(String)
    /// An AWS Signature Version 4 `Authorization` header.
    case sigV4(String)

    /// Extracts the credential from request headers.
    ///
    /// Exactly one credential is accepted: a request with none, with two (`Authorization` and `X-API-Key`), with a
    /// repeated header, or with a scheme nobody handles is refused here, before any lookup.
    public static func extract(from headers: HTTPFields) throws(AuthenticationError) -> InboundCredential {
        let authorizations = headers[values: .authorization]
        let apiKeys = headers[values: .xAPIKey]
        guard authorizations.count + apiKeys.count <= 1 else {
            throw AuthenticationError(.ambiguous)
        }
        if let apiKey = apiKeys.first {
            let trimmed = apiKey.trimmingWhitespace()
            guard !trimmed.isEmpty else { throw AuthenticationError(.missing) }
            return .apiKey(String(trimmed))
        }
        guard let authorization = authorizations.first else { throw AuthenticationError(.missing) }
        let value = authorization.trimmingWhitespace()
        guard let space = value.firstIndex(of: " ") else { throw AuthenticationError(.unsupportedScheme) }
        let scheme = value[..<space]
        let token = value[value.index(after: space)...].trimmingWhitespace()
        // RFC 9110 §11.1: the scheme is case-insensitive.
        if scheme.lowercased() == "bearer" {
            guard !token.isEmpty else { throw AuthenticationError(.missing) }
            return APIKeyFormat.keyId(of: token) != nil ? .apiKey(String(token)) : .bearerToken(String(token))
        }
        if scheme == "AWS4-HMAC-SHA256" {
            return .sigV4(String(value))
        }
        throw AuthenticationError(.unsupportedScheme)
    }
}

extension HTTPField.Name {
    /// `X-API-Key`, the header API-key clients may use instead of `Authorization`.
    public static let xAPIKey = HTTPField.Name("X-API-Key")!
}

extension StringProtocol {
    func trimmingWhitespace() -> SubSequence {
        guard let start = firstIndex(where: { $0 != " " && $0 != "\t" }),
            let last = lastIndex(where: { $0 != " " && $0 != "\t" })
        else { return self[endIndex...] }
        return self[start...last]
    }
}
