import Crypto
public import Foundation
import PortcullisCore

/// Signs a path-style S3 `GetObject` with AWS Signature Version 4, the way S3 wants it: the key's segments are
/// encoded once (not twice, as other services require), and the payload hash is sent as `x-amz-content-sha256`.
public struct S3GetRequestSigner: Sendable {
    public struct Credentials: Sendable {
        public var accessKeyId: String
        public var secretAccessKey: String
        public var sessionToken: String?

        public init(accessKeyId: String, secretAccessKey: String, sessionToken: String?) {
            self.accessKeyId = accessKeyId
            self.secretAccessKey = secretAccessKey
            self.sessionToken = sessionToken
        }
    }

    public var credentials: Credentials
    public var region: String

    public init(credentials: Credentials, region: String) {
        self.credentials = credentials
        self.region = region
    }

    /// The URL and headers of `GET <endpoint>/<bucket>/<key>[?versionId=…]` signed at `date`.
    /// - Parameter endpoint: scheme and authority (`http://127.0.0.1:5000`), optionally with a base path.
    public func sign(endpoint: URL, bucket: String, key: String, versionId: String?, at date: Date) -> (url: String, headers: [(String, String)]) {
        let basePath = endpoint.path.split(separator: "/").map { PercentEncoding.encodeSegment(String($0)) }
        let keyPath = key.split(separator: "/", omittingEmptySubsequences: false).map { PercentEncoding.encodeSegment(String($0)) }
        let canonicalPath = "/" + (basePath + [PercentEncoding.encodeSegment(bucket)] + keyPath).joined(separator: "/")
        let query = versionId.map { "versionId=" + PercentEncoding.encodeSegment($0) } ?? ""
        var authority = endpoint.host ?? ""
        if let port = endpoint.port { authority += ":\(port)" }

        let requestTime = SigV4Signature.requestTime(date)
        let day = String(requestTime.prefix(8))
        var headers: [(String, String)] = [
            ("host", authority),
            ("x-amz-content-sha256", SignedRequest.emptyPayloadHash),
            ("x-amz-date", requestTime),
        ]
        if let token = credentials.sessionToken { headers.append(("x-amz-security-token", token)) }
        let signedHeaders = headers.map(\.0).joined(separator: ";")
        let canonicalRequest = (["GET", canonicalPath, query] + headers.map { "\($0.0):\($0.1)" } + ["", signedHeaders, SignedRequest.emptyPayloadHash])
            .joined(separator: "\n")
        let scope = "\(day)/\(region)/s3/aws4_request"
        let stringToSign = [
            SigV4Credential.algorithm, requestTime, scope, Hex.encode(SHA256.hash(data: Array(canonicalRequest.utf8))),
        ].joined(separator: "\n")
        let signature = SigV4Signature.signature(of: stringToSign, secret: credentials.secretAccessKey, date: day, region: region, service: "s3")
        headers.append((
            "authorization",
            "\(SigV4Credential.algorithm) Credential=\(credentials.accessKeyId)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        ))
        let schemeAndAuthority = "\(endpoint.scheme ?? "https")://\(authority)"
        let url = schemeAndAuthority + canonicalPath + (query.isEmpty ? "" : "?" + query)
        return (url, headers.filter { $0.0 != "host" })
    }
}
