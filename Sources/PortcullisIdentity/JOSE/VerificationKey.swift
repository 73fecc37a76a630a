import Crypto
import CryptoExtras
public import PortcullisCore

/// A public key (or, for HMAC, a shared secret) pinned to exactly one JWS algorithm.
///
/// Pinning is what keeps algorithm confusion out: a token is checked only with the algorithm its key was loaded
/// for, whatever its header says, and a header that says something else is refused before any cryptography.
public struct VerificationKey: Sendable {
    enum Material: Sendable {
        case rsa(_RSA.Signing.PublicKey)
        case p256(P256.Signing.PublicKey)
        case p384(P384.Signing.PublicKey)
        case p521(P521.Signing.PublicKey)
        case ed25519(Curve25519.Signing.PublicKey)
        case hmac(SymmetricKey)
    }

    public let keyId: String
    public let algorithm: JWSAlgorithm
    let material: Material

    init(keyId: String, algorithm: JWSAlgorithm, material: Material) {
        self.keyId = keyId
        self.algorithm = algorithm
        self.material = material
    }

    /// Whether `signature` is this key's signature over `message` with the pinned algorithm.
    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        switch (material, algorithm) {
        case (.rsa(let key), .rs256):
            return Self.rsa(key, signature, SHA256.hash(data: message), padding: .insecurePKCS1v1_5)
        case (.rsa(let key), .rs384):
            return Self.rsa(key, signature, SHA384.hash(data: message), padding: .insecurePKCS1v1_5)
        case (.rsa(let key), .rs512):
            return Self.rsa(key, signature, SHA512.hash(data: message), padding: .insecurePKCS1v1_5)
        case (.rsa(let key), .ps256):
            return Self.rsa(key, signature, SHA256.hash(data: message), padding: .PSS)
        case (.rsa(let key), .ps384):
            return Self.rsa(key, signature, SHA384.hash(data: message), padding: .PSS)
        case (.rsa(let key), .ps512):
            return Self.rsa(key, signature, SHA512.hash(data: message), padding: .PSS)
        case (.p256(let key), .es256):
            // JWS carries ECDSA signatures as the fixed-size r‖s (IEEE P1363), never DER.
            guard let parsed = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(parsed, for: message)
        case (.p384(let key), .es384):
            guard let parsed = try? P384.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(parsed, for: message)
        case (.p521(let key), .es512):
            guard let parsed = try? P521.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(parsed, for: message)
        case (.ed25519(let key), .edDSA):
            return key.isValidSignature(signature, for: message)
        case (.hmac(let key), .hs256):
            return HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: message, using: key)
        case (.hmac(let key), .hs384):
            return HMAC<SHA384>.isValidAuthenticationCode(signature, authenticating: message, using: key)
        case (.hmac(let key), .hs512):
            return HMAC<SHA512>.isValidAuthenticationCode(signature, authenticating: message, using: key)
        default:
            // A key is only ever built for algorithms of its own type; anything else is refused.
            return false
        }
    }

    private static func rsa(
        _ key: _RSA.Signing.PublicKey,
        _ signature: [UInt8],
        _ digest: some Digest,
        padding: _RSA.Signing.Padding
    ) -> Bool {
        // The signature must be exactly the modulus length; no leading zeros added or stripped.
        guard signature.count * 8 == key.keySizeInBits else { return false }
        return key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: digest, padding: padding)
    }
}
