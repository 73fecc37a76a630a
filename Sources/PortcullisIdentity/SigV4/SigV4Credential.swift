import PortcullisCore

/// The signature part of an AWS Signature Version 4 request, from its `Authorization` header or, for presigned
/// URLs, its query (`X-Amz-Algorithm`, `X-Amz-Credential`, …).
public struct SigV4Credential: Sendable, Equatable {
    public static let algorithm = "AWS4-HMAC-SHA256"
    /// AgentCore signs both planes as `bedrock-agentcore`.
    public static let service = "bedrock-agentcore"

    public var accessKeyId: String
    /// The credential scope's date, `yyyyMMdd`.
    public var date: String
    public var region: String
    public var service: String
    /// Lowercase header names, in the order the client listed them.
    public var signedHeaders: [String]
    /// Lowercase hex.
    public var signature: String
    /// `X-Amz-Date` (`yyyyMMdd'T'HHmmss'Z'`): from the query for presigned URLs, else from the header.
    public var requestTime: String?
    /// Presigned URLs only: how long the URL is valid, in seconds.
    public var expiresSeconds: Int?

    public var isPresigned: Bool { expiresSeconds != nil }

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        AgentRuntimeIdentifier.isLetter(byte) || AgentRuntimeIdentifier.isDigit(byte)
    }

    /// `<date>/<region>/<service>/aws4_request`.
    public var scope: String { "\(date)/\(region)/\(service)/aws4_request" }

    /// Reads `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
    public init(authorization: some StringProtocol, requestTime: String?) throws(AuthenticationError) {
        guard authorization.hasPrefix(Self.algorithm + " ") else {
            throw AuthenticationError(.malformedSignature, "not an \(Self.algorithm) Authorization header")
        }
        var fields: [String: String] = [:]
        for part in authorization.dropFirst(Self.algorithm.count + 1).split(separator: ",") {
            let trimmed = part.trimmingWhitespace()
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw AuthenticationError(.malformedSignature, "an Authorization component without '='")
            }
            let name = String(trimmed[..<equals])
            guard fields.updateValue(String(trimmed[trimmed.index(after: equals)...]), forKey: name) == nil else {
                throw AuthenticationError(.malformedSignature, "\(name) appears twice")
            }
        }
        guard let credential = fields["Credential"], let signedHeaders = fields["SignedHeaders"], let signature = fields["Signature"] else {
            throw AuthenticationError(.malformedSignature, "the Authorization header needs Credential, SignedHeaders and Signature")
        }
        try self.init(credential: credential, signedHeaders: signedHeaders, signature: signature, requestTime: requestTime, expires: nil)
    }

    /// Reads a presigned URL's query parameters (already percent-decoded).
    public init(query: [String: String]) throws(AuthenticationError) {
        guard query["X-Amz-Algorithm"] == Self.algorithm else {
            throw AuthenticationError(.malformedSignature, "X-Amz-Algorithm must be \(Self.algorithm)")
        }
        guard let credential = query["X-Amz-Credential"], let signedHeaders = query["X-Amz-SignedHeaders"],
            let signature = query["X-Amz-Signature"], let time = query["X-Amz-Date"]
        else {
            throw AuthenticationError(.malformedSignature, "a presigned URL needs X-Amz-Credential, X-Amz-Date, X-Amz-SignedHeaders and X-Amz-Signature")
        }
        guard let expires = query["X-Amz-Expires"].flatMap(Int.init), (1...3600).contains(expires) else {
            throw AuthenticationError(.malformedSignature, "X-Amz-Expires must be 1-3600 seconds")
        }
        try self.init(credential: credential, signedHeaders: signedHeaders, signature: signature, requestTime: time, expires: expires)
    }

    private init(credential: String, signedHeaders: String, signature: String, requestTime: String?, expires: Int?) throws(AuthenticationError) {
        let scope = credential.split(separator: "/", omittingEmptySubsequences: false)
        guard scope.count == 5, scope[4] == "aws4_request", (1...128).contains(scope[0].utf8.count),
            scope[0].utf8.allSatisfy({ Self.isAlphanumeric($0) }),
            scope[1].utf8.count == 8, scope[1].utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            (1...32).contains(scope[2].utf8.count), scope[2].utf8.allSatisfy({ Self.isAlphanumeric($0) || $0 == UInt8(ascii: "-") })
        else {
            throw AuthenticationError(.malformedSignature, "Credential must be <access key id>/<yyyyMMdd>/<region>/<service>/aws4_request")
        }
        let headers = signedHeaders.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
        guard !headers.isEmpty, headers.count <= 64, headers.allSatisfy({ !$0.isEmpty && $0 == $0.lowercased() }), headers.contains("host") else {
            throw AuthenticationError(.malformedSignature, "SignedHeaders must be lowercase names separated by ';' and include host")
        }
        guard signature.utf8.count == 64, signature.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else {
            throw AuthenticationError(.malformedSignature, "Signature must be 64 lowercase hex digits")
        }
        self.accessKeyId = String(scope[0])
        self.date = String(scope[1])
        self.region = String(scope[2])
        self.service = String(scope[3])
        self.signedHeaders = headers
        self.signature = signature
        self.requestTime = requestTime
        self.expiresSeconds = expires
    }
}
