import Crypto
import PortcullisCore

/// Proof Key for Code Exchange (RFC 7636) with the S256 method, and the other random values a sign-in needs.
public struct PKCE: Sendable, Equatable {
    /// 43 characters of base64url (256 random bits), within RFC 7636's 43–128.
    public let verifier: String

    public init() {
        self.verifier = Base64URL.encode(SecureRandom.bytes(32))
    }

    public init(verifier: String) {
        self.verifier = verifier
    }

    /// `BASE64URL(SHA256(verifier))`.
    public var challenge: String { Self.challenge(for: verifier) }

    public static func challenge(for verifier: String) -> String {
        Base64URL.encode(Array(SHA256.hash(data: Array(verifier.utf8))))
    }

    /// Whether `verifier` has RFC 7636's form: 43–128 unreserved characters.
    public static func isWellFormedVerifier(_ verifier: String) -> Bool {
        guard (43...128).contains(verifier.utf8.count) else { return false }
        return verifier.utf8.allSatisfy(isUnreserved)
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        if AgentRuntimeIdentifier.isLetter(byte) || AgentRuntimeIdentifier.isDigit(byte) { return true }
        return byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "~")
    }

    /// A random value for `state` and `nonce` (256 bits, base64url).
    public static func randomToken() -> String {
        Base64URL.encode(SecureRandom.bytes(32))
    }
}
