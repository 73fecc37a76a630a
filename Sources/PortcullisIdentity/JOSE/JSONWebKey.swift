import Crypto
import CryptoExtras
import Foundation
public import PortcullisCore

/// What a key set is allowed to contain.
public struct KeyPolicy: Sendable {
    /// The algorithms keys may be pinned to, in order of preference: a key without `alg` is pinned to the first
    /// one that fits its type, never to what a token asks for.
    public var algorithms: [JWSAlgorithm]
    /// Whether shared-secret (`oct`) keys are accepted. Never for key sets fetched from an issuer.
    public var allowsSymmetricKeys: Bool

    public init(algorithms: [JWSAlgorithm], allowsSymmetricKeys: Bool = false) {
        self.algorithms = algorithms
        self.allowsSymmetricKeys = allowsSymmetricKeys
    }
}

/// Reads one JSON Web Key (RFC 7517/7518/8037) into a ``VerificationKey``, refusing anything unfit to verify.
///
/// Refused: unknown `kty` or curve, `use` other than `sig`, `key_ops` without `verify`, an `alg` that is unknown,
/// not allowed or wrong for the key, private key material in a public key, RSA moduli under 2048 or over 8192 bits,
/// public exponents that are even or below 3, moduli with the ROCA fingerprint, EC points off the curve, HMAC keys
/// shorter than their hash, and keys without a `kid`.
public enum JSONWebKey {
    static let privateMembers = ["d", "p", "q", "dp", "dq", "qi", "oth"]

    public static func verificationKey(_ members: [String: JSONValue], policy: KeyPolicy) throws(JOSEError) -> VerificationKey {
        guard case .string(let keyType)? = members["kty"] else { throw unusable("the key has no kty") }
        guard case .string(let keyId)? = members["kid"], !keyId.isEmpty, keyId.utf8.count <= JOSEHeader.maxKeyIdBytes else {
            throw unusable("the key has no kid; keys are selected by kid only")
        }
        if let use = members["use"], use != .string("sig") {
            throw unusable("key \(keyId) is for use '\(use.stringValue ?? "?")', not signatures")
        }
        if let operations = members["key_ops"] {
            guard case .array(let items) = operations, items.contains(.string("verify")) else {
                throw unusable("key \(keyId) does not allow the verify operation")
            }
        }
        let declared: JWSAlgorithm?
        switch members["alg"] {
        case nil:
            declared = nil
        case .string(let name)?:
            guard let algorithm = JWSAlgorithm(rawValue: name) else { throw unusable("key \(keyId) declares the unknown alg '\(name.prefix(32))'") }
            declared = algorithm
        default:
            throw unusable("key \(keyId) has a non-string alg")
        }
        switch keyType {
        case "RSA":
            try refusePrivateMembers(members, keyId: keyId)
            let algorithm = try pin(declared, fits: [.rs256, .rs384, .rs512, .ps256, .ps384, .ps512], policy: policy, keyId: keyId)
            return VerificationKey(keyId: keyId, algorithm: algorithm, material: .rsa(try rsaKey(members, keyId: keyId)))
        case "EC":
            try refusePrivateMembers(members, keyId: keyId)
            guard case .string(let curve)? = members["crv"] else { throw unusable("EC key \(keyId) has no crv") }
            let x = try component(members, "x", keyId: keyId)
            let y = try component(members, "y", keyId: keyId)
            switch curve {
            case "P-256":
                let algorithm = try pin(declared, fits: [.es256], policy: policy, keyId: keyId)
                return VerificationKey(keyId: keyId, algorithm: algorithm, material: .p256(try point(x, y, size: 32, keyId: keyId) {
                    try P256.Signing.PublicKey(rawRepresentation: $0)
                }))
            case "P-384":
                let algorithm = try pin(declared, fits: [.es384], policy: policy, keyId: keyId)
                return VerificationKey(keyId: keyId, algorithm: algorithm, material: .p384(try point(x, y, size: 48, keyId: keyId) {
                    try P384.Signing.PublicKey(rawRepresentation: $0)
                }))
            case "P-521":
                let algorithm = try pin(declared, fits: [.es512], policy: policy, keyId: keyId)
                return VerificationKey(keyId: keyId, algorithm: algorithm, material: .p521(try point(x, y, size: 66, keyId: keyId) {
                    try P521.Signing.PublicKey(rawRepresentation: $0)
                }))
            default:
                throw unusable("EC key \(keyId) uses the unsupported curve '\(curve.prefix(16))'")
            }
        case "OKP":
            try refusePrivateMembers(members, keyId: keyId)
            guard members["crv"] == .string("Ed25519") else { throw unusable("OKP key \(keyId) is not an Ed25519 key") }
            let x = try component(members, "x", keyId: keyId)
            let algorithm = try pin(declared, fits: [.edDSA], policy: policy, keyId: keyId)
            guard x.count == 32, let key = try? Curve25519.Signing.PublicKey(rawRepresentation: x) else {
                throw unusable("Ed25519 key \(keyId) is not 32 bytes")
            }
            return VerificationKey(keyId: keyId, algorithm: algorithm, material: .ed25519(key))
        case "oct":
            guard policy.allowsSymmetricKeys else { throw unusable("key \(keyId) is a shared secret; issuer key sets hold public keys only") }
            let algorithm = try pin(declared, fits: [.hs256, .hs384, .hs512], policy: policy, keyId: keyId)
            let secret = try component(members, "k", keyId: keyId, allowEmpty: true)
            let minimum = algorithm == .hs256 ? 32 : algorithm == .hs384 ? 48 : 64
            guard secret.count >= minimum else {
                throw unusable("HMAC key \(keyId) is \(secret.count) bytes; \(algorithm.rawValue) needs at least \(minimum)")
            }
            return VerificationKey(keyId: keyId, algorithm: algorithm, material: .hmac(SymmetricKey(data: secret)))
        default:
            throw unusable("key \(keyId) has the unsupported kty '\(keyType.prefix(16))'")
        }
    }

    /// The one algorithm a key is used with: its own `alg` when it declares one (which must be allowed and fit the
    /// key), else the first allowed algorithm that fits.
    private static func pin(
        _ declared: JWSAlgorithm?,
        fits: [JWSAlgorithm],
        policy: KeyPolicy,
        keyId: String
    ) throws(JOSEError) -> JWSAlgorithm {
        if let declared {
            guard fits.contains(declared) else { throw unusable("key \(keyId) declares \(declared.rawValue), which does not fit its key type or curve") }
            guard policy.algorithms.contains(declared) else { throw unusable("key \(keyId) is for \(declared.rawValue), which is not allowed") }
            return declared
        }
        guard let algorithm = policy.algorithms.first(where: fits.contains) else {
            throw unusable("no allowed algorithm fits key \(keyId)")
        }
        return algorithm
    }

    private static func refusePrivateMembers(_ members: [String: JSONValue], keyId: String) throws(JOSEError) {
        if privateMembers.contains(where: { members[$0] != nil }) {
            throw unusable("key \(keyId) contains private key material")
        }
    }

    private static func component(
        _ members: [String: JSONValue],
        _ name: String,
        keyId: String,
        allowEmpty: Bool = false
    ) throws(JOSEError) -> [UInt8] {
        guard case .string(let encoded)? = members[name], let bytes = Base64URL.decode(encoded), allowEmpty || !bytes.isEmpty else {
            throw unusable("key \(keyId) has a missing or malformed '\(name)'")
        }
        return bytes
    }

    private static func point<Key>(
        _ x: [UInt8],
        _ y: [UInt8],
        size: Int,
        keyId: String,
        make: ([UInt8]) throws -> Key
    ) throws(JOSEError) -> Key {
        guard x.count == size, y.count == size else { throw unusable("EC key \(keyId) has coordinates of the wrong length") }
        do {
            return try make(x + y)
        } catch {
            throw unusable("EC key \(keyId) is not a point on its curve")
        }
    }

    private static func rsaKey(_ members: [String: JSONValue], keyId: String) throws(JOSEError) -> _RSA.Signing.PublicKey {
        // A leading zero octet is against RFC 7518 §6.3.1.1 but changes nothing about the key, so it is tolerated.
        let modulus = Array(try component(members, "n", keyId: keyId).drop(while: { $0 == 0 }))
        let exponent = Array(try component(members, "e", keyId: keyId).drop(while: { $0 == 0 }))
        guard (256...1024).contains(modulus.count) else {
            throw unusable("RSA key \(keyId) has \(modulus.count * 8) bits; 2048 to 8192 are accepted")
        }
        guard (1...4).contains(exponent.count), let last = exponent.last, last & 1 == 1, exponent != [1] else {
            throw unusable("RSA key \(keyId) has an unacceptable public exponent")
        }
        guard !RSAModulusCheck.hasROCAFingerprint(modulus) else {
            throw unusable("RSA key \(keyId) was generated by a library with the ROCA weakness (CVE-2017-15361)")
        }
        do {
            return try _RSA.Signing.PublicKey(n: modulus, e: exponent)
        } catch {
            throw unusable("RSA key \(keyId) is not a valid RSA public key")
        }
    }

    private static func unusable(_ detail: String) -> JOSEError {
        JOSEError(.unusableKey, detail)
    }
}
