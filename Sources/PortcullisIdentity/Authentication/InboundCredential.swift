public import HTTPTypes
import PortcullisCore

/// The parts of a request a credential can depend on: SigV4 covers method, path, query, headers and body.
public struct RequestFacts: Sendable, Equatable {
    public var method: String
    /// The path as it arrived, still percent-encoded, without the query.
    public var rawPath: String
    public var rawQuery: String?
    public var headers: HTTPFields
    public var authority: String?
    /// Lowercase hex SHA-256 of the body once it has been read; SigV4 requests cannot be authenticated without it.
    public var payloadHash: String?

    public init(method: String, rawPath: String, rawQuery: String?, headers: HTTPFields, authority: String?, payloadHash: String? = nil) {
        self.method = method
        self.rawPath = rawPath
        self.rawQuery = rawQuery
        self.headers = headers
        self.authority = authority
        self.payloadHash = payloadHash
    }

    /// Facts carrying only headers, for callers that accept API keys and bearer tokens alone.
    public init(headers: HTTPFields) {
        self.init(method: "GET", rawPath: "/", rawQuery: nil, headers: headers, authority: nil)
    }
}

/// The one credential a request carries, classified once so each authenticator looks only at its own kind.
public enum InboundCredential: Sendable, Equatable {
    /// A Portcullis API key, from `Authorization: Bearer` or `X-API-Key`.
    case apiKey(String)
    /// Any other bearer token (a JWT for the token authenticators).
    case bearerToken(String)
    /// An AWS Signature Version 4 request, in the `Authorization` header or presigned in the query.
    case sigV4(SignedRequest)

    /// Extracts the credential from request headers (API keys and bearer tokens; SigV4 needs ``extract(from:)``).
    public static func extract(from headers: HTTPFields) throws(AuthenticationError) -> InboundCredential {
        try extract(from: RequestFacts(headers: headers))
    }

    /// Extracts the credential from a request.
    ///
    /// Exactly one credential is accepted: a request with none, with two (`Authorization` and `X-API-Key`, or a
    /// header and a presigned query), with a repeated header, or with a scheme nobody handles is refused here,
    /// before any lookup.
    public static func extract(from request: RequestFacts) throws(AuthenticationError) -> InboundCredential {
        let headers = request.headers
        let authorizations = headers[values: .authorization]
        let apiKeys = headers[values: .xAPIKey]
        let presigned = presignedQuery(request.rawQuery)
        guard authorizations.count + apiKeys.count + (presigned == nil ? 0 : 1) <= 1 else {
            throw AuthenticationError(.ambiguous)
        }
        if let presigned {
            // Outside S3, presigned URLs sign the body's hash like any other request (an empty one for GET).
            let credential = try SigV4Credential(query: presigned)
            guard let payloadHash = request.payloadHash else {
                throw AuthenticationError(.unsupportedCredential, "a presigned request reached authentication without its body hash")
            }
            return .sigV4(SignedRequest(credential: credential, request: request, payloadHash: payloadHash))
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
        if scheme == SigV4Credential.algorithm {
            let credential = try SigV4Credential(authorization: value, requestTime: headers[.xAmzDate])
            guard let payloadHash = request.payloadHash else {
                throw AuthenticationError(.unsupportedCredential, "a SigV4 request reached authentication without its body hash")
            }
            // A client that states its payload hash must state the real one; unsigned payloads are not accepted.
            if let stated = headers[.xAmzContentSHA256], stated != payloadHash {
                throw AuthenticationError(.signatureMismatch, "X-Amz-Content-SHA256 is not the body's hash")
            }
            return .sigV4(SignedRequest(credential: credential, request: request, payloadHash: payloadHash))
        }
        throw AuthenticationError(.unsupportedScheme)
    }

    /// Whether the request is signed with SigV4 in its `Authorization` header, so its body must be read and hashed
    /// before it can be authenticated (presigned URLs sign no body).
    public static func isHeaderSignedV4(_ headers: HTTPFields) -> Bool {
        headers[values: .authorization].contains { $0.trimmingWhitespace().hasPrefix(SigV4Credential.algorithm + " ") }
    }

    /// The signature credential of a header-signed SigV4 request, for checks that run before the body is read.
    public static func headerSignature(_ headers: HTTPFields) throws(AuthenticationError) -> SigV4Credential {
        guard let authorization = headers[values: .authorization].first else { throw AuthenticationError(.missing) }
        return try SigV4Credential(authorization: authorization.trimmingWhitespace(), requestTime: headers[.xAmzDate])
    }

    /// The decoded query when it is a presigned SigV4 URL (it names `X-Amz-Signature`), else `nil`.
    static func presignedQuery(_ rawQuery: String?) -> [String: String]? {
        guard let rawQuery, rawQuery.contains("X-Amz-Signature") else { return nil }
        var parameters: [String: String] = [:]
        for component in rawQuery.split(separator: "&") {
            let parts = component.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = PercentEncoding.decode(parts[0]) else { continue }
            let value = parts.count > 1 ? PercentEncoding.decode(parts[1]) ?? "" : ""
            if name.hasPrefix("X-Amz-"), parameters[name] != nil {
                // Two values for a signing parameter: refuse rather than pick one.
                parameters[name] = ""
                continue
            }
            parameters[name] = value
        }
        return parameters["X-Amz-Signature"] == nil ? nil : parameters
    }
}

extension HTTPField.Name {
    /// `X-API-Key`, the header API-key clients may use instead of `Authorization`.
    public static let xAPIKey = HTTPField.Name("X-API-Key")!
    static let xAmzDate = HTTPField.Name("X-Amz-Date")!
    static let xAmzContentSHA256 = HTTPField.Name("X-Amz-Content-SHA256")!
}

extension StringProtocol {
    func trimmingWhitespace() -> SubSequence {
        guard let start = firstIndex(where: { $0 != " " && $0 != "\t" }),
            let last = lastIndex(where: { $0 != " " && $0 != "\t" })
        else { return self[endIndex...] }
        return self[start...last]
    }
}
