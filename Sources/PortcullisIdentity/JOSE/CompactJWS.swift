import PortcullisCore

/// A JWS in compact serialization (RFC 7515 §7.1), parsed strictly: exactly three parts, canonical base64url, a
/// header that is a strict JSON object. The JSON serialization is not accepted.
public struct CompactJWS: Sendable {
    public let header: JOSEHeader
    public let payload: [UInt8]
    public let signature: [UInt8]
    /// `BASE64URL(header) . BASE64URL(payload)`, the bytes the signature covers.
    let signingInput: [UInt8]

    /// - Parameter maxBytes: the largest token accepted; larger ones are refused before any decoding.
    public init(_ token: some StringProtocol, maxBytes: Int) throws(JOSEError) {
        let bytes = Array(token.utf8)
        guard bytes.count <= maxBytes else {
            throw JOSEError(.tooLarge, "the token is \(bytes.count) bytes; the limit is \(maxBytes)")
        }
        guard let firstDot = bytes.firstIndex(of: UInt8(ascii: ".")),
            let secondDot = bytes[(firstDot + 1)...].firstIndex(of: UInt8(ascii: ".")),
            !bytes[(secondDot + 1)...].contains(UInt8(ascii: "."))
        else {
            throw JOSEError(.malformed, "a compact JWS has exactly three parts")
        }
        // The header is decoded and checked first: a token that asks for something refused (b64, crit, an
        // embedded key) is refused for that reason whatever its other parts look like.
        let headerBytes = bytes.withUnsafeBufferPointer { Base64URL.decode(bytes: UnsafeBufferPointer(rebasing: $0[0..<firstDot])) }
        guard let headerBytes, !headerBytes.isEmpty else { throw JOSEError(.malformed, "the header is not base64url") }
        let members: [String: JSONValue]
        do {
            members = try StrictJSON.parseObject(headerBytes, maxDepth: 8)
        } catch {
            throw JOSEError(.malformed, "the header is not a JSON object: \(error)")
        }
        self.header = try JOSEHeader(members: members)
        let decoded = bytes.withUnsafeBufferPointer { buffer in
            (
                Base64URL.decode(bytes: UnsafeBufferPointer(rebasing: buffer[(firstDot + 1)..<secondDot])),
                Base64URL.decode(bytes: UnsafeBufferPointer(rebasing: buffer[(secondDot + 1)...]))
            )
        }
        guard let payload = decoded.0 else { throw JOSEError(.malformed, "the payload is not base64url") }
        guard let signature = decoded.1, !signature.isEmpty else { throw JOSEError(.malformed, "the signature is missing or not base64url") }
        self.payload = payload
        self.signature = signature
        self.signingInput = Array(bytes[0..<secondDot])
    }

    /// Whether `key` signed this JWS with the algorithm the key is pinned to.
    /// - Throws: ``JOSEError/Code/algorithmMismatch`` when the header names another algorithm.
    public func verify(with key: VerificationKey) throws(JOSEError) {
        guard header.algorithm == key.algorithm else {
            throw JOSEError(.algorithmMismatch, "the token uses \(header.algorithm.rawValue) but its key is for \(key.algorithm.rawValue)")
        }
        guard key.isValidSignature(signature, for: signingInput) else {
            throw JOSEError(.invalidSignature, "the signature does not verify")
        }
    }
}
