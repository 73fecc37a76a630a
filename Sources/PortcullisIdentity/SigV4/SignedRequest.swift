import Crypto
import HTTPTypes
import PortcullisCore

/// A request as AWS Signature Version 4 covers it: method, raw path and query, the signed headers, and the hash
/// of the body.
public struct SignedRequest: Sendable, Equatable {
    public var credential: SigV4Credential
    /// Method, raw path and query, headers and authority as the request arrived.
    public var request: RequestFacts
    /// Lowercase hex SHA-256 of the body.
    public var payloadHash: String

    public init(credential: SigV4Credential, request: RequestFacts, payloadHash: String) {
        self.credential = credential
        self.request = request
        self.payloadHash = payloadHash
    }

    /// The hash of an empty body, which `GET` requests sign.
    public static let emptyPayloadHash = Hex.encode(SHA256.hash(data: [UInt8]()))

    /// The canonical request (SigV4 task 1) for the non-S3 rules: the already-encoded path is encoded once more,
    /// query parameters are decoded, re-encoded and sorted (without `X-Amz-Signature` for presigned URLs), and the
    /// signed headers appear in the order the client listed them, values trimmed with inner runs of spaces folded.
    public var canonicalRequest: String {
        var lines = [request.method, Self.canonicalURI(request.rawPath), canonicalQuery]
        for name in credential.signedHeaders {
            lines.append(name + ":" + headerValue(name))
        }
        lines.append("")
        lines.append(credential.signedHeaders.joined(separator: ";"))
        lines.append(payloadHash)
        return lines.joined(separator: "\n")
    }

    /// The string to sign (task 2).
    public var stringToSign: String {
        let digest = Hex.encode(SHA256.hash(data: Array(canonicalRequest.utf8)))
        return [SigV4Credential.algorithm, credential.requestTime ?? "", credential.scope, digest].joined(separator: "\n")
    }

    static func canonicalURI(_ rawPath: String) -> String {
        guard !rawPath.isEmpty else { return "/" }
        return rawPath.split(separator: "/", omittingEmptySubsequences: false).map { PercentEncoding.encodeSegment(String($0)) }
            .joined(separator: "/")
    }

    var canonicalQuery: String {
        guard let rawQuery = request.rawQuery, !rawQuery.isEmpty else { return "" }
        var pairs: [(String, String)] = []
        for component in rawQuery.split(separator: "&") {
            let parts = component.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = PercentEncoding.decode(parts[0]) ?? String(parts[0])
            if credential.isPresigned && name == "X-Amz-Signature" { continue }
            let value = parts.count > 1 ? PercentEncoding.decode(parts[1]) ?? String(parts[1]) : ""
            pairs.append((PercentEncoding.encodeSegment(name), PercentEncoding.encodeSegment(value)))
        }
        pairs.sort { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }
        return pairs.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    private func headerValue(_ name: String) -> String {
        let values: [String]
        if name == "host" {
            values = request.authority.map { [$0] } ?? []
        } else if let field = HTTPField.Name(name) {
            values = request.headers[values: field]
        } else {
            values = []
        }
        return values.map(Self.foldSpaces).joined(separator: ",")
    }

    private static func foldSpaces(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }
}
