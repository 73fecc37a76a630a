import Foundation
@testable import PortcullisCore
@testable import PortcullisIdentity
import Testing

/// The Wycheproof JWS, JWK and signature-primitive vectors and the RFC 7520 (JOSE cookbook) examples, run through
/// the same parsing, key loading and verification the gateway uses for tokens.
@Suite("JOSE conformance (Wycheproof, RFC 7520)", .enabled(if: SharedTestData.isAvailable, "needs ../shared/testdata beside the project"))
struct JOSEConformanceTests {
    /// Vectors whose expected result a strict verifier does not reproduce, with the reason.
    static let knownDivergences: [Int: String] = [
        347: "the key declares alg \"ES521\", which is not a JWS algorithm; Portcullis refuses keys with unregistered alg values",
        351: "the key declares alg \"ES521\", which is not a JWS algorithm; Portcullis refuses keys with unregistered alg values",
        372: "the inserted '?' changes the signed bytes: a strict verifier rejects it (listed as an exception in testdata/README.md)",
        373: "the inserted '?' changes the signed bytes: a strict verifier rejects it (listed as an exception in testdata/README.md)",
        346: "the key declares alg PS256 but the token is PS384; Portcullis pins every key to its declared algorithm",
        350: "the key declares alg PS256 but the token is PS384; Portcullis pins every key to its declared algorithm",
        367: "the vector is byte-for-byte tcId 357 (ValidMac): its padding was lost from the data, so it cannot be both",
        370: "the vector is byte-for-byte tcId 357 (ValidMac): its padding was lost from the data, so it cannot be both",
    ]

    static let everyAlgorithm = KeyPolicy(algorithms: JWSAlgorithm.allCases, allowsSymmetricKeys: true)

    /// Whether the gateway's verifier accepts `jws` with the one key given, selected by kid.
    static func accepts(_ jws: JSONValue, key: VerificationKey?) -> Bool {
        guard let key, case .string(let token) = jws, let parsed = try? CompactJWS(token, maxBytes: 1 << 20) else { return false }
        guard parsed.header.keyId == key.keyId else { return false }
        return (try? parsed.verify(with: key)) != nil
    }

    @Test("json_web_signature_test.json")
    func jsonWebSignature() throws {
        let file = try SharedTestData.json("wycheproof/json_web_signature_test.json")
        var matched = 0
        var diverged: [Int] = []
        var mismatches: [String] = []
        for group in file["testGroups"]!.arrayValue {
            let jwk = group["public"] ?? group["private"]!
            let key = try? JSONWebKey.verificationKey(jwk.objectValue!, policy: Self.everyAlgorithm)
            for test in group["tests"]!.arrayValue {
                let id = test["tcId"]!.intValue!
                let expected = test["result"] == .string("valid")
                let accepted = Self.accepts(test["jws"]!, key: key)
                if accepted == expected {
                    matched += 1
                } else if Self.knownDivergences[id] != nil {
                    diverged.append(id)
                } else {
                    mismatches.append("tcId \(id) (\(test["comment"]?.stringValue ?? "")): expected \(expected ? "valid" : "invalid")")
                }
            }
        }
        print("json_web_signature_test.json: \(matched) as expected, \(diverged.count) known divergences \(diverged.sorted()), \(mismatches.count) mismatches")
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
        #expect(matched + diverged.count == file["numberOfTests"]!.intValue!)
        #expect(diverged.sorted() == Self.knownDivergences.keys.sorted())
    }

    @Test("json_web_key_test.json")
    func jsonWebKey() throws {
        let file = try SharedTestData.json("wycheproof/json_web_key_test.json")
        var matched = 0
        var mismatches: [String] = []
        for group in file["testGroups"]!.arrayValue {
            let keySet = group["public"] ?? group["private"]!
            let keys = try? JSONWebKeySet(entries: keySet["keys"]!.arrayValue, policy: Self.everyAlgorithm)
            for test in group["tests"]!.arrayValue {
                let expected = test["result"] == .string("valid")
                var key: VerificationKey?
                if case .string(let token) = test["jws"]!, let parsed = try? CompactJWS(token, maxBytes: 1 << 20), let keyId = parsed.header.keyId {
                    key = keys?.keys[keyId]
                }
                if Self.accepts(test["jws"]!, key: key) == expected {
                    matched += 1
                } else {
                    mismatches.append("tcId \(test["tcId"]!.intValue!) (\(test["comment"]?.stringValue ?? "")): expected \(expected ? "valid" : "invalid")")
                }
            }
        }
        print("json_web_key_test.json: \(matched)/\(file["numberOfTests"]!.intValue!) as expected")
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
        #expect(matched == file["numberOfTests"]!.intValue!)
    }

    static let primitiveFiles = [
        "rsa_signature_2048_sha256_test.json", "rsa_signature_2048_sha384_test.json", "rsa_signature_2048_sha512_test.json",
        "rsa_signature_3072_sha256_test.json", "rsa_signature_4096_sha256_test.json",
        "rsa_pss_2048_sha256_mgf1_32_test.json", "rsa_pss_2048_sha384_mgf1_48_test.json", "rsa_pss_4096_sha512_mgf1_64_test.json",
        "ecdsa_secp256r1_sha256_p1363_test.json", "ecdsa_secp384r1_sha384_p1363_test.json", "ecdsa_secp521r1_sha512_p1363_test.json",
        "ed25519_test.json",
    ]

    @Test("signature primitives (RSA PKCS#1, RSA-PSS, ECDSA P1363, Ed25519)", arguments: primitiveFiles)
    func primitives(_ name: String) throws {
        let file = try SharedTestData.json("wycheproof/\(name)")
        var matched = 0
        var acceptable = (accepted: 0, rejected: 0)
        var mismatches: [String] = []
        for group in file["testGroups"]!.arrayValue {
            var jwk = (group["publicKeyJwk"] ?? group["keyJwk"])?.objectValue ?? Self.ecJWK(fromUncompressed: group["publicKey"]!)
            // These vectors test signature arithmetic, not key selection; the loader requires a kid.
            if jwk["kid"] == nil { jwk["kid"] = .string("vector") }
            let algorithm = Self.algorithm(for: group, jwk: jwk)
            let key = try? JSONWebKey.verificationKey(jwk, policy: KeyPolicy(algorithms: [algorithm]))
            for test in group["tests"]!.arrayValue {
                guard let signature = test["sig"]?.stringValue, let message = test["msg"]?.stringValue else {
                    mismatches.append("tcId \(test["tcId"]?.intValue ?? -1): unreadable vector")
                    continue
                }
                let accepted = key?.isValidSignature(hexBytes(signature), for: hexBytes(message)) ?? false
                switch test["result"]!.stringValue! {
                case "acceptable":
                    if accepted { acceptable.accepted += 1 } else { acceptable.rejected += 1 }
                case let result where (result == "valid") == accepted:
                    matched += 1
                default:
                    mismatches.append("tcId \(test["tcId"]!.intValue!) (\(test["comment"]?.stringValue ?? "")): expected \(test["result"]!.stringValue!)")
                }
            }
        }
        let total = file["numberOfTests"]!.intValue!
        print("\(name): \(matched)/\(total - acceptable.accepted - acceptable.rejected) valid/invalid as expected; acceptable: \(acceptable.accepted) accepted, \(acceptable.rejected) rejected")
        #expect(mismatches.isEmpty, "\(mismatches.prefix(20).joined(separator: "\n"))")
        #expect(matched + acceptable.accepted + acceptable.rejected == total)
    }

    /// Some ECDSA groups give the key only as an uncompressed point (04 ‖ x ‖ y); the JWK is built from it.
    static func ecJWK(fromUncompressed publicKey: JSONValue) -> [String: JSONValue] {
        let point = hexBytes(publicKey["uncompressed"]!.stringValue!)
        let size = (point.count - 1) / 2
        let curves = ["secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"]
        return [
            "kty": .string("EC"),
            "crv": .string(curves[publicKey["curve"]!.stringValue!]!),
            "x": .string(Base64URL.encode(point[1...size])),
            "y": .string(Base64URL.encode(point[(size + 1)...])),
        ]
    }

    static func algorithm(for group: JSONValue, jwk: [String: JSONValue]) -> JWSAlgorithm {
        if let name = jwk["alg"]?.stringValue, let algorithm = JWSAlgorithm(rawValue: name) { return algorithm }
        switch jwk["crv"]?.stringValue {
        case "P-256": return .es256
        case "P-384": return .es384
        case "P-521": return .es512
        default: return .edDSA
        }
    }

    @Test("RFC 7520 JWS examples: compact serializations verify, the others are refused")
    func cookbook() throws {
        var verified: [String] = []
        for name in ["4_1.rsa_v15_signature", "4_2.rsa-pss_signature", "4_3.ecdsa_signature", "4_4.hmac-sha2_integrity_protection"] {
            let example = try SharedTestData.json("jose-cookbook/jws/\(name).json")
            let key = try Self.publicKey(example["input"]!["key"]!, algorithm: example["input"]!["alg"]!.stringValue!)
            let token = example["output"]!["compact"]!.stringValue!
            let jws = try CompactJWS(token, maxBytes: 1 << 20)
            try jws.verify(with: key)
            #expect(String(decoding: jws.payload, as: UTF8.self) == example["input"]!["payload"]!.stringValue!)
            verified.append(name)
        }
        // Detached content: the compact form has an empty payload, and the signature covers the real one.
        let detached = try SharedTestData.json("jose-cookbook/jws/4_5.signature_with_detached_content.json")
        let detachedKey = try Self.publicKey(detached["input"]!["key"]!, algorithm: "HS256")
        let detachedJWS = try CompactJWS(detached["output"]!["compact"]!.stringValue!, maxBytes: 1 << 20)
        #expect(throws: JOSEError.self) { try detachedJWS.verify(with: detachedKey) }
        // RFC 7797 unencoded payloads are refused at the header, before any key is consulted.
        let unencoded = try SharedTestData.json("jose-cookbook/rfc7797/hmac-sha2_b64_false.json")
        #expect {
            _ = try CompactJWS(unencoded["output"]!["compact"]!.stringValue!, maxBytes: 1 << 20)
        } throws: { ($0 as? JOSEError)?.code == .forbiddenHeader }
        // Nested signing and encryption: the inner JWS verifies, the JWE around it is not a JWS.
        let nesting = try SharedTestData.json("jose-cookbook/6.nesting_signatures_and_encryption.json")
        let inner = try CompactJWS(nesting["sign"]!["output"]!["compact"]!.stringValue!, maxBytes: 1 << 20)
        try inner.verify(with: try Self.publicKey(nesting["sign"]!["input"]!["key"]!, algorithm: "PS256"))
        #expect {
            _ = try CompactJWS(nesting["encrypt"]!["output"]!["compact"]!.stringValue!, maxBytes: 1 << 20)
        } throws: { ($0 as? JOSEError)?.code == .malformed }
        print("JOSE cookbook: \(verified.count + 1) compact JWS verified; detached, b64=false and JWE-nested forms refused")
    }

    /// The public half of a cookbook key (they are given as private JWKs).
    static func publicKey(_ jwk: JSONValue, algorithm: String) throws -> VerificationKey {
        var members = jwk.objectValue!
        for name in JSONWebKey.privateMembers { members.removeValue(forKey: name) }
        if members["kid"] == nil { members["kid"] = .string("cookbook") }
        return try JSONWebKey.verificationKey(members, policy: KeyPolicy(algorithms: [JWSAlgorithm(rawValue: algorithm)!], allowsSymmetricKeys: true))
    }
}
