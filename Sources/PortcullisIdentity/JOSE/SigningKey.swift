import Crypto
import CryptoExtras
import Foundation
public import PortcullisCore

/// A private key the gateway signs JWS with (the development identity provider, workload access tokens), and the
/// public JWK it publishes for it.
public struct SigningKey: Sendable {
    enum Material: Sendable {
        case rsa(_RSA.Signing.PrivateKey)
        case p256(P256.Signing.PrivateKey)
        case ed25519(Curve25519.Signing.PrivateKey)
        case hmac(SymmetricKey)
    }

    public let keyId: String
    public let algorithm: JWSAlgorithm
    let material: Material

    /// A new RS256 key (2048 bits).
    public static func generateRSA(keyId: String) throws -> SigningKey {
        SigningKey(keyId: keyId, algorithm: .rs256, material: .rsa(try _RSA.Signing.PrivateKey(keySize: .bits2048)))
    }

    /// A new ES256 key.
    public static func generateP256(keyId: String) -> SigningKey {
        SigningKey(keyId: keyId, algorithm: .es256, material: .p256(P256.Signing.PrivateKey()))
    }

    /// A new EdDSA (Ed25519) key.
    public static func generateEd25519(keyId: String) -> SigningKey {
        SigningKey(keyId: keyId, algorithm: .edDSA, material: .ed25519(Curve25519.Signing.PrivateKey()))
    }

    /// An HMAC key from a secret of at least the hash size.
    public static func hmac(keyId: String, algorithm: JWSAlgorithm, secret: [UInt8]) -> SigningKey {
        SigningKey(keyId: keyId, algorithm: algorithm, material: .hmac(SymmetricKey(data: secret)))
    }

    /// An RSA key as PKCS#8 or PKCS#1 PEM, pinned to `algorithm` (RS* or PS*).
    public init(rsaPEM pem: String, keyId: String, algorithm: JWSAlgorithm = .rs256) throws {
        self.init(keyId: keyId, algorithm: algorithm, material: .rsa(try _RSA.Signing.PrivateKey(pemRepresentation: pem)))
    }

    init(keyId: String, algorithm: JWSAlgorithm, material: Material) {
        self.keyId = keyId
        self.algorithm = algorithm
        self.material = material
    }

    /// The private key as PEM, for keys the gateway keeps on disk.
    public var pemRepresentation: String? {
        switch material {
        case .rsa(let key): key.pemRepresentation
        case .p256(let key): key.pemRepresentation
        default: nil
        }
    }

    /// The public JWK with `kid`, `alg` and `use`, as a key set publishes it.
    public var publicJWK: JSONValue {
        var members: [String: JSONValue] = [
            "kid": .string(keyId), "alg": .string(algorithm.rawValue), "use": .string("sig"),
        ]
        switch material {
        case .rsa(let key):
            let primitives = try? key.publicKey.getKeyPrimitives()
            members["kty"] = .string("RSA")
            members["n"] = .string(Base64URL.encode(Array(primitives?.modulus ?? Data())))
            members["e"] = .string(Base64URL.encode(Array(primitives?.publicExponent ?? Data())))
        case .p256(let key):
            let raw = Array(key.publicKey.rawRepresentation)
            members["kty"] = .string("EC")
            members["crv"] = .string("P-256")
            members["x"] = .string(Base64URL.encode(raw[0..<32]))
            members["y"] = .string(Base64URL.encode(raw[32...]))
        case .ed25519(let key):
            members["kty"] = .string("OKP")
            members["crv"] = .string("Ed25519")
            members["x"] = .string(Base64URL.encode(Array(key.publicKey.rawRepresentation)))
        case .hmac:
            members["kty"] = .string("oct")
        }
        return .object(members)
    }

    /// The public half, pinned to the same algorithm, for verifying what this key signs.
    public var verificationKey: VerificationKey {
        let publicMaterial: VerificationKey.Material =
            switch material {
            case .rsa(let key): .rsa(key.publicKey)
            case .p256(let key): .p256(key.publicKey)
            case .ed25519(let key): .ed25519(key.publicKey)
            case .hmac(let secret): .hmac(secret)
            }
        return VerificationKey(keyId: keyId, algorithm: algorithm, material: publicMaterial)
    }

    /// A compact JWS over `payload`; `alg` and `kid` are set in the header, other members come from `header`.
    public func sign(payload: [UInt8], header extra: [String: JSONValue] = [:]) throws -> String {
        var header = extra
        header["alg"] = .string(algorithm.rawValue)
        header["kid"] = .string(keyId)
        let signingInput = Base64URL.encode(JSONValue.object(header).serialized()) + "." + Base64URL.encode(payload)
        return signingInput + "." + Base64URL.encode(try signature(for: Array(signingInput.utf8)))
    }

    /// A compact JWT with these claims.
    public func sign(claims: [String: JSONValue], header: [String: JSONValue] = ["typ": .string("JWT")]) throws -> String {
        try sign(payload: JSONValue.object(claims).serialized(), header: header)
    }

    /// The raw signature over `message` with this key's algorithm (exposed so tests can build malformed tokens).
    public func signature(for message: [UInt8]) throws -> [UInt8] {
        switch (material, algorithm) {
        case (.rsa(let key), .rs256): Array(try key.signature(for: SHA256.hash(data: message), padding: .insecurePKCS1v1_5).rawRepresentation)
        case (.rsa(let key), .rs384): Array(try key.signature(for: SHA384.hash(data: message), padding: .insecurePKCS1v1_5).rawRepresentation)
        case (.rsa(let key), .rs512): Array(try key.signature(for: SHA512.hash(data: message), padding: .insecurePKCS1v1_5).rawRepresentation)
        case (.rsa(let key), .ps256): Array(try key.signature(for: SHA256.hash(data: message), padding: .PSS).rawRepresentation)
        case (.p256(let key), _): Array(try key.signature(for: message).rawRepresentation)
        case (.ed25519(let key), _): Array(try key.signature(for: message))
        case (.hmac(let key), .hs384): Array(HMAC<SHA384>.authenticationCode(for: message, using: key))
        case (.hmac(let key), .hs512): Array(HMAC<SHA512>.authenticationCode(for: message, using: key))
        case (.hmac(let key), _): Array(HMAC<SHA256>.authenticationCode(for: message, using: key))
        case (.rsa, _): throw JOSEError(.unsupportedAlgorithm, "an RSA key cannot sign \(algorithm.rawValue)")
        }
    }
}
