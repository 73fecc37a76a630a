import Foundation
import NIOHTTP1
@testable import PortcullisCore
@testable import PortcullisGateway
@testable import PortcullisIdentity
import Testing

/// Crafted tokens for every attack class of proxy-anchors §3.1, sent to a JWT runtime: each is refused with a 401
/// or 403 in the AgentCore envelope, and none reaches the agent.
@Suite("JWT attack suite")
struct JWTAttackTests {
    struct Attack: Sendable {
        var name: String
        var token: String
    }

    /// A compact JWS from raw parts, so tests can write what no honest signer would.
    static func compact(header: [UInt8], payload: [UInt8], signature: [UInt8]) -> String {
        Base64URL.encode(header) + "." + Base64URL.encode(payload) + "." + Base64URL.encode(signature)
    }

    static func bytes(_ value: JSONValue) -> [UInt8] { value.serialized() }

    /// Signs `header.payload` (as given) with `key`'s raw signature function.
    static func signed(header: [UInt8], payload: [UInt8], with key: SigningKey) throws -> String {
        let input = Base64URL.encode(header) + "." + Base64URL.encode(payload)
        return input + "." + Base64URL.encode(try key.signature(for: Array(input.utf8)))
    }

    static func attacks(provider: TestIdentityProvider, ecKey: SigningKey) throws -> [Attack] {
        let now = Date().timeIntervalSince1970.rounded(.down)
        let good: [String: JSONValue] = [
            "iss": .string(provider.issuer), "sub": .string("mallory"), "aud": .string("api://portcullis"),
            "client_id": .string("client-1"), "iat": .number(now), "exp": .number(now + 300),
        ]
        let goodPayload = bytes(.object(good))
        let realKey = provider.signingKey
        let attackerRSA = try SigningKey.generateRSA(keyId: "key-1")
        let attackerEC = SigningKey.generateP256(keyId: "attacker")
        let rsaHeader: [String: JSONValue] = ["alg": .string("RS256"), "kid": .string("key-1"), "typ": .string("at+jwt")]
        func header(_ changes: [String: JSONValue]) -> [UInt8] {
            var members = rsaHeader
            for (name, value) in changes { members[name] = value }
            return bytes(.object(members.filter { $0.value != .null }))
        }
        func payload(_ changes: [String: JSONValue]) -> [UInt8] {
            var members = good
            for (name, value) in changes { members[name] = value }
            return bytes(.object(members.filter { $0.value != .null }))
        }
        func real(_ headerBytes: [UInt8], _ payloadBytes: [UInt8]) throws -> String {
            try signed(header: headerBytes, payload: payloadBytes, with: realKey)
        }
        let publicJWK = realKey.publicJWK
        let modulus = Base64URL.decode(publicJWK["n"]!.stringValue!)!
        let validToken = try real(header([:]), goodPayload)
        let validParts = validToken.split(separator: ".").map(String.init)
        let validSignature = Base64URL.decode(validParts[2])!

        var attacks: [Attack] = []
        func add(_ name: String, _ token: String) { attacks.append(Attack(name: name, token: token)) }

        // alg: none in every spelling, with and without a signature.
        for spelling in ["none", "None", "NONE", "nOnE"] {
            add("alg \(spelling), no signature", compact(header: header(["alg": .string(spelling)]), payload: goodPayload, signature: []).dropLastDot())
            add("alg \(spelling), empty signature part", Base64URL.encode(header(["alg": .string(spelling)])) + "." + Base64URL.encode(goodPayload) + ".")
        }
        add("alg none with the real signature", compact(header: header(["alg": .string("none")]), payload: goodPayload, signature: validSignature))
        add("alg missing", try real(header(["alg": .null]), goodPayload))
        add("alg RS256 with a trailing space", compact(header: header(["alg": .string("RS256 ")]), payload: goodPayload, signature: validSignature))
        // RS/HS confusion: the public key's bytes used as an HMAC secret.
        for (label, secret) in [("modulus", modulus), ("JWK JSON", bytes(publicJWK)), ("PEM-like text", Array("-----BEGIN PUBLIC KEY-----".utf8) + modulus)] {
            let hmac = SigningKey.hmac(keyId: "key-1", algorithm: .hs256, secret: secret)
            add("HS256 keyed with the RSA \(label)", try signed(header: header(["alg": .string("HS256")]), payload: goodPayload, with: hmac))
        }
        // Wrong algorithm for the key.
        let pss = SigningKey(keyId: "key-1", algorithm: .ps256, material: realKey.material)
        add("PS256 signature on the RS256-pinned key", try signed(header: header(["alg": .string("PS256")]), payload: goodPayload, with: pss))
        add("RS512 header on the RS256 key", try signed(header: header(["alg": .string("RS512")]), payload: goodPayload, with: SigningKey(keyId: "key-1", algorithm: .rs512, material: realKey.material)))
        add("ES256 header naming the RSA key", try signed(header: header(["alg": .string("ES256")]), payload: goodPayload, with: attackerEC))
        // A forged token under the real kid.
        add("signed by another key with the same kid", try signed(header: header([:]), payload: goodPayload, with: attackerRSA))
        // Embedded keys and key URLs.
        add("embedded jwk (attacker's key)", try signed(header: bytes(.object(["alg": .string("ES256"), "kid": .string("attacker"), "jwk": attackerEC.publicJWK])), payload: goodPayload, with: attackerEC))
        add("jku pointing at the attacker", try real(header(["jku": .string("https://attacker.example/jwks.json")]), goodPayload))
        add("x5u pointing at the attacker", try real(header(["x5u": .string("https://attacker.example/cert.pem")]), goodPayload))
        add("x5c with the attacker's chain", try real(header(["x5c": .array([.string("MIIB")])]), goodPayload))
        // kid injection.
        for kid in ["../../../../../../dev/null", "' OR '1'='1", "key-1\u{0}", "key-1 ", String(repeating: "k", count: 2000), "unknown-kid"] {
            add("kid \(kid.prefix(24).debugDescription)", try real(header(["kid": .string(kid)]), goodPayload))
        }
        add("kid missing", try real(header(["kid": .null]), goodPayload))
        add("kid is a number", try real(header(["kid": .number(1)]), goodPayload))
        // Critical extensions and unencoded payloads.
        add("crit naming exp", try real(header(["crit": .array([.string("exp")]), "exp": .number(now + 300)]), goodPayload))
        add("crit b64 with b64 false", try real(header(["crit": .array([.string("b64")]), "b64": .bool(false)]), goodPayload))
        add("b64 false without crit", try real(header(["b64": .bool(false)]), goodPayload))
        add("cty JWT (nested)", try real(header(["cty": .string("JWT")]), goodPayload))
        add("zip (a JWE member)", try real(header(["zip": .string("DEF")]), goodPayload))
        // Psychic signatures (CVE-2022-21449) against the provider's real EC key.
        let ecHeader = bytes(.object(["alg": .string("ES256"), "kid": .string(ecKey.keyId), "typ": .string("at+jwt")]))
        add("ES256 r = s = 0", compact(header: ecHeader, payload: goodPayload, signature: [UInt8](repeating: 0, count: 64)))
        add("ES256 r = s = n (the group order)", compact(header: ecHeader, payload: goodPayload, signature: Hex.decode("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")! + Hex.decode("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")!))
        add("ES256 DER signature instead of r||s", compact(header: ecHeader, payload: goodPayload, signature: [0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]))
        // Stripped, truncated, padded, transplanted signatures; modified payload.
        add("signature stripped", Base64URL.encode(header([:])) + "." + Base64URL.encode(goodPayload) + ".")
        add("signature truncated", compact(header: header([:]), payload: goodPayload, signature: Array(validSignature.dropLast(10))))
        add("signature with zeros appended", compact(header: header([:]), payload: goodPayload, signature: validSignature + [0, 0]))
        add("signature with a zero prepended", compact(header: header([:]), payload: goodPayload, signature: [0] + validSignature))
        add("signature of another payload", compact(header: header([:]), payload: payload(["sub": .string("admin")]), signature: validSignature))
        add("signature with base64 padding", validToken + "=")
        // Time.
        add("expired an hour ago", try real(header([:]), payload(["exp": .number(now - 3600)])))
        add("not valid for an hour", try real(header([:]), payload(["nbf": .number(now + 3600)])))
        add("issued in the future", try real(header([:]), payload(["iat": .number(now + 3600)])))
        add("no exp", try real(header([:]), payload(["exp": .null])))
        add("exp is a string", try real(header([:]), payload(["exp": .string("\(Int(now) + 300)")])))
        add("exp overflows a double", try real(header([:]), Array(#"{"iss":"\#(provider.issuer)","sub":"mallory","aud":"api://portcullis","client_id":"client-1","exp":1e400}"#.utf8)))
        // Issuer, audience, client, token type.
        add("issuer of the attacker (own key)", try signed(header: bytes(.object(["alg": .string("ES256"), "kid": .string("attacker")])), payload: payload(["iss": .string("https://attacker.example")]), with: attackerEC))
        add("issuer with a trailing slash", try real(header([:]), payload(["iss": .string(provider.issuer + "/")])))
        add("wrong audience", try real(header([:]), payload(["aud": .string("api://someone-else")])))
        add("audience list without ours", try real(header([:]), payload(["aud": .array([.string("a"), .string("b")])])))
        add("wrong client", try real(header([:]), payload(["client_id": .string("client-2")])))
        add("ID token (typ JWT) as an access token", try real(header(["typ": .string("JWT")]), payload(["aud": .string("client-1"), "nonce": .string("n")])))
        // Structure.
        add("duplicate sub claim", try real(header([:]), Array(#"{"iss":"\#(provider.issuer)","sub":"alice","sub":"admin","aud":"api://portcullis","client_id":"client-1","exp":\#(Int(now) + 300)}"#.utf8)))
        add("duplicate alg header", try real(Array(#"{"alg":"none","alg":"RS256","kid":"key-1","typ":"at+jwt"}"#.utf8), goodPayload))
        add("payload is not JSON", try real(header([:]), Array("not json".utf8)))
        add("payload is a JSON array", try real(header([:]), Array("[1,2]".utf8)))
        add("header is not JSON", try real(Array("{alg:RS256}".utf8), goodPayload))
        add("four parts", validToken + ".AAAA")
        add("JWE-shaped (five parts)", validParts[0] + ".." + validParts[1] + ".AAAA." + validParts[2])
        add("flattened JSON serialization", #"{"protected":"\#(validParts[0])","payload":"\#(validParts[1])","signature":"\#(validParts[2])"}"#)
        add("oversized (20 KB of claims)", try real(header([:]), payload(["padding": .string(String(repeating: "x", count: 20_000))])))
        add("standard base64 characters", validToken.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/") + (validToken.contains("-") || validToken.contains("_") ? "" : "+"))
        return attacks
    }

    @Test("every crafted token is refused, and none reaches the agent")
    func refused() async throws {
        try await TestIdentityProvider.run { provider in
            let ecKey = SigningKey.generateP256(keyId: "ec-1")
            provider.addKey(ecKey)
            try await withTestAgent({ $0.addRecordingInvocations($1) }) { agentURL, recorder in
                try await TestGateway.run(configure: { configuration in
                    configuration.auth.issuers = [
                        IssuerConfiguration(name: "test", discoveryURL: provider.discoveryURL, requiredTokenType: "at+jwt")
                    ]
                }) { gateway in
                    let arn = try await gateway.registerAgent(
                        name: "guarded",
                        url: agentURL,
                        authorizer: CustomJWTAuthorizer(discoveryURL: provider.discoveryURL, allowedAudience: ["api://portcullis"], allowedClients: ["client-1"])
                    )
                    let attacks = try Self.attacks(provider: provider, ecKey: ecKey)
                    #expect(attacks.count >= 40)
                    var statuses: [Int: Int] = [:]
                    for attack in attacks {
                        let response = try await gateway.send(.POST, gateway.invocationURL(arn), body: "{}", key: attack.token)
                        statuses[response.status, default: 0] += 1
                        #expect([401, 403].contains(response.status), "\(attack.name): \(response.status) \(response.body)")
                        let type = (try? TestGateway.json(response.body)["__type"] as? String) ?? nil
                        #expect(type == "UnauthorizedException" || type == "AccessDeniedException", "\(attack.name): \(response.body)")
                        #expect(!response.body.contains(attack.token.prefix(40)), "\(attack.name): the token is never echoed")
                    }
                    #expect(recorder.count == 0, "no crafted token reached the agent")
                    // The same path with an honest token works, so the refusals above are about the tokens.
                    let honest = try provider.token(["sub": .string("alice")], header: ["typ": .string("at+jwt")])
                    #expect(try await gateway.send(.POST, gateway.invocationURL(arn), body: "{}", key: honest).status == 200)
                    #expect(recorder.count == 1)
                    let ecHonest = try provider.token(["sub": .string("alice")], key: ecKey, header: ["typ": .string("at+jwt")])
                    #expect(try await gateway.send(.POST, gateway.invocationURL(arn), body: "{}", key: ecHonest).status == 200)
                    print("JWT attack suite: \(attacks.count) crafted tokens refused (statuses \(statuses.sorted { $0.key < $1.key })), 0 forwarded")
                }
            }
        }
    }
}

extension String {
    /// `a.b.` → `a.b` (a token with its signature part removed entirely).
    fileprivate func dropLastDot() -> String {
        hasSuffix(".") ? String(dropLast()) : self
    }
}
