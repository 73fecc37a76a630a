import Foundation
import NIOHTTP1
@testable import PortcullisCore
@testable import PortcullisGateway
@testable import PortcullisIdentity
import Testing

/// Per-runtime `customJWTAuthorizer` semantics through the gateway, the bearer challenges and protected-resource
/// metadata, and JWT administrators on the control plane.
@Suite("JWT runtimes: authorizer, challenges, metadata")
struct JWTAuthorizerTests {
    static let claimRules = [
        CustomClaimRule(claimName: "department", match: .equals("support")),
        CustomClaimRule(claimName: "cognito:groups", match: .contains("agents")),
        CustomClaimRule(claimName: "entitlements", match: .containsAny(["gold", "platinum"])),
    ]

    @Test("allowedAudience, allowedClients, allowedScopes and customClaims, each enforced")
    func authorizerRules() async throws {
        try await TestIdentityProvider.run { provider in
            try await withTestAgent({ $0.addRecordingInvocations($1) }) { agentURL, recorder in
                try await TestGateway.run { gateway in
                    let arn = try await gateway.registerAgent(
                        name: "support",
                        url: agentURL,
                        authorizer: CustomJWTAuthorizer(
                            discoveryURL: provider.discoveryURL,
                            allowedAudience: ["api://portcullis", "api://other"],
                            allowedClients: ["client-1", "client-2"],
                            allowedScopes: ["agents:invoke", "agents:admin"],
                            customClaims: Self.claimRules
                        )
                    )
                    let passing: [String: JSONValue] = [
                        "department": .string("support"), "cognito:groups": .array([.string("agents"), .string("x")]),
                        "entitlements": .array([.string("platinum")]),
                    ]
                    func status(_ changes: [String: JSONValue]) async throws -> (Int, String?) {
                        var claims = passing
                        for (name, value) in changes { claims[name] = value }
                        let response = try await gateway.send(.POST, gateway.invocationURL(arn), body: "{}", key: try provider.token(claims))
                        return (response.status, response.headers.first(name: "WWW-Authenticate"))
                    }
                    #expect(try await status([:]).0 == 200)
                    #expect(try await status(["aud": .array([.string("api://x"), .string("api://other")])]).0 == 200, "any-of audience")
                    #expect(try await status(["client_id": .string("client-2"), "scope": .string("agents:admin")]).0 == 200)
                    #expect(recorder.count == 3)

                    let (audience, audienceChallenge) = try await status(["aud": .string("api://nobody")])
                    #expect(audience == 401 && audienceChallenge?.contains(#"error="invalid_token""#) == true)
                    #expect(try await status(["client_id": .string("client-3")]).0 == 401)
                    #expect(try await status(["client_id": .null]).0 == 401)
                    let (scope, scopeChallenge) = try await status(["scope": .string("profile email")])
                    #expect(scope == 403)
                    #expect(scopeChallenge?.contains(#"error="insufficient_scope""#) == true)
                    #expect(scopeChallenge?.contains(#"scope="agents:invoke agents:admin""#) == true)
                    #expect(try await status(["department": .string("sales")]).0 == 403, "EQUALS")
                    #expect(try await status(["department": .array([.string("support")])]).0 == 403, "EQUALS needs a string claim")
                    #expect(try await status(["cognito:groups": .array([.string("x")])]).0 == 403, "CONTAINS")
                    #expect(try await status(["cognito:groups": .string("agents")]).0 == 403, "CONTAINS needs an array claim")
                    #expect(try await status(["entitlements": .array([.string("silver")])]).0 == 403, "CONTAINS_ANY")
                    #expect(try await status(["entitlements": .null]).0 == 403)
                    #expect(recorder.count == 3, "no refused token reached the agent")
                }
            }
        }
    }

    @Test("a JWT runtime's 401 names its protected-resource metadata, which names the authorization server")
    func challengeAndMetadata() async throws {
        try await TestIdentityProvider.run { provider in
            try await withTestAgent({ $0.addRecordingInvocations($1) }) { agentURL, _ in
                try await TestGateway.run { gateway in
                    let arn = try await gateway.registerAgent(
                        name: "mcp_tools",
                        url: agentURL,
                        authorizer: CustomJWTAuthorizer(discoveryURL: provider.discoveryURL, allowedScopes: ["tools:call"])
                    )
                    let plain = try await gateway.registerAgent(name: "plain", url: agentURL)
                    let metadataURL = gateway.baseURL + "/.well-known/oauth-protected-resource/runtimes/\(PercentEncoding.encodeSegment(arn))/invocations"

                    let missing = try await gateway.send(.POST, gateway.invocationURL(arn), body: "{}", key: .some(nil))
                    #expect(missing.status == 401)
                    let challenge = try #require(missing.headers.first(name: "WWW-Authenticate"))
                    #expect(challenge.hasPrefix("Bearer realm=\"portcullis\""))
                    #expect(challenge.contains("resource_metadata=\"\(metadataURL)\""))
                    #expect(!challenge.contains("error="), "no error code when no token was sent (RFC 6750 §3.1)")

                    let expired = try await gateway.send(.POST, gateway.invocationURL(arn), body: "{}", key: try provider.token(["scope": .string("tools:call")], lifetime: -3600))
                    #expect(expired.status == 401)
                    let expiredChallenge = try #require(expired.headers.first(name: "WWW-Authenticate"))
                    #expect(expiredChallenge.contains(#"error="invalid_token""#))
                    #expect(expiredChallenge.contains(#"error_description="The bearer token has expired""#))
                    #expect(expiredChallenge.contains("resource_metadata="))
                    #expect(try TestGateway.json(expired.body)["__type"] as? String == "UnauthorizedException")

                    let metadata = try await gateway.send(.GET, metadataURL, key: .some(nil))
                    #expect(metadata.status == 200)
                    let document = try TestGateway.json(metadata.body)
                    #expect(document["resource"] as? String == gateway.invocationURL(arn))
                    #expect(document["authorization_servers"] as? [String] == [provider.issuer])
                    #expect(document["scopes_supported"] as? [String] == ["tools:call"])
                    #expect(document["bearer_methods_supported"] as? [String] == ["header"])

                    let plainMetadata = try await gateway.send(.GET, gateway.baseURL + "/.well-known/oauth-protected-resource/runtimes/\(PercentEncoding.encodeSegment(plain))/invocations", key: .some(nil))
                    #expect(plainMetadata.status == 404)
                    let plainMissing = try await gateway.send(.POST, gateway.invocationURL(plain), body: "{}", key: .some(nil))
                    #expect(plainMissing.headers.first(name: "WWW-Authenticate")?.contains("resource_metadata") == false)
                }
            }
        }
    }

    @Test("JWT runtimes refuse API keys and other issuers' tokens; API-key runtimes refuse tokens")
    func credentialKinds() async throws {
        try await TestIdentityProvider.run { provider in
            try await TestIdentityProvider.run { other in
                try await withTestAgent({ $0.addRecordingInvocations($1) }) { agentURL, recorder in
                    try await TestGateway.run(configure: { configuration in
                        configuration.auth.issuers = [IssuerConfiguration(name: "other", discoveryURL: other.discoveryURL)]
                    }) { gateway in
                        let jwtRuntime = try await gateway.registerAgent(name: "jwt", url: agentURL, authorizer: CustomJWTAuthorizer(discoveryURL: provider.discoveryURL))
                        let keyRuntime = try await gateway.registerAgent(name: "keys", url: agentURL)
                        #expect(try await gateway.send(.POST, gateway.invocationURL(jwtRuntime), body: "{}", key: try provider.token()).status == 200)
                        let withKey = try await gateway.send(.POST, gateway.invocationURL(jwtRuntime), body: "{}")
                        #expect(withKey.status == 403)
                        let otherIssuer = try await gateway.send(.POST, gateway.invocationURL(jwtRuntime), body: "{}", key: try other.token())
                        #expect(otherIssuer.status == 401, "a token from another trusted issuer is not this runtime's")
                        let tokenOnKeyRuntime = try await gateway.send(.POST, gateway.invocationURL(keyRuntime), body: "{}", key: try other.token())
                        #expect(tokenOnKeyRuntime.status == 403)
                        #expect(recorder.count == 1)
                    }
                }
            }
        }
    }

    @Test("a session belongs to the user whose token started it")
    func sessionOwnership() async throws {
        try await TestIdentityProvider.run { provider in
            try await withTestAgent({ $0.addRecordingInvocations($1) }) { agentURL, recorder in
                try await TestGateway.run { gateway in
                    let arn = try await gateway.registerAgent(name: "chat", url: agentURL, authorizer: CustomJWTAuthorizer(discoveryURL: provider.discoveryURL))
                    let session = [("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id", "session-" + String(repeating: "a", count: 30))]
                    let alice = try provider.token(["sub": .string("alice")])
                    let bob = try provider.token(["sub": .string("bob")])
                    #expect(try await gateway.send(.POST, gateway.invocationURL(arn), headers: session, body: "{}", key: alice).status == 200)
                    #expect(try await gateway.send(.POST, gateway.invocationURL(arn), headers: session, body: "{}", key: alice).status == 200)
                    #expect(try await gateway.send(.POST, gateway.invocationURL(arn), headers: session, body: "{}", key: bob).status == 404)
                    #expect(recorder.count == 2)
                }
            }
        }
    }

    @Test("CreateAgentRuntime takes a customJWTAuthorizer and refuses malformed ones with the field named")
    func controlPlaneValidation() async throws {
        try await TestIdentityProvider.run { provider in
            try await TestGateway.run(configure: { $0.auth.allowUnlistedIssuers = true }) { gateway in
                func create(_ name: String, _ authorizer: [String: Any]) async throws -> (Int, [String: Any]) {
                    let response = try await gateway.send(
                        .PUT,
                        "\(gateway.baseURL)/runtimes/",
                        body: try ControlPlaneTests.createBody(name: name, url: "http://127.0.0.1:9", extra: ["authorizerConfiguration": ["customJWTAuthorizer": authorizer]]),
                        key: gateway.adminKey
                    )
                    return (response.status, try TestGateway.json(response.body))
                }
                let valid: [String: Any] = [
                    "discoveryUrl": provider.discoveryURL, "allowedClients": ["client-1"], "allowedScopes": ["agents:invoke"],
                    "customClaims": [[
                        "inboundTokenClaimName": "cognito:groups", "inboundTokenClaimValueType": "STRING_ARRAY",
                        "authorizingClaimMatchValue": ["claimMatchOperator": "CONTAINS_ANY", "claimMatchValue": ["matchValueStringList": ["a", "b"]]],
                    ]],
                ]
                let (created, body) = try await create("withjwt", valid)
                #expect(created == 202, "\(body)")
                let runtimeId = try #require(body["agentRuntimeId"] as? String)
                let fetched = try TestGateway.json(try await gateway.send(.GET, "\(gateway.baseURL)/runtimes/\(runtimeId)", key: gateway.adminKey).body)
                let stored = (fetched["authorizerConfiguration"] as? [String: Any])?["customJWTAuthorizer"] as? [String: Any]
                #expect(stored?["allowedClients"] as? [String] == ["client-1"])

                let invalid: [(String, [String: Any], String)] = [
                    ("no discovery", ["allowedClients": ["x"]], "discoveryUrl"),
                    ("bad suffix", ["discoveryUrl": "https://idp.example.com/keys"], "discoveryUrl"),
                    ("plain http elsewhere", ["discoveryUrl": "http://idp.example.com/.well-known/openid-configuration"], "discoveryUrl"),
                    ("empty list", ["discoveryUrl": provider.discoveryURL, "allowedAudience": [String]()], "allowedAudience"),
                    ("scope with space", ["discoveryUrl": provider.discoveryURL, "allowedScopes": ["a b"]], "allowedScopes"),
                    ("operator mismatch", ["discoveryUrl": provider.discoveryURL, "customClaims": [[
                        "inboundTokenClaimName": "dept", "inboundTokenClaimValueType": "STRING",
                        "authorizingClaimMatchValue": ["claimMatchOperator": "CONTAINS", "claimMatchValue": ["matchValueString": "x"]],
                    ]]], "customClaims[0]"),
                    ("bad value type", ["discoveryUrl": provider.discoveryURL, "customClaims": [[
                        "inboundTokenClaimName": "dept", "inboundTokenClaimValueType": "NUMBER",
                        "authorizingClaimMatchValue": ["claimMatchOperator": "EQUALS", "claimMatchValue": ["matchValueString": "x"]],
                    ]]], "inboundTokenClaimValueType"),
                    ("unknown member", ["discoveryUrl": provider.discoveryURL, "allowedAudiences": ["x"]], "allowedAudiences"),
                ]
                for (index, (label, authorizer, field)) in invalid.enumerated() {
                    let (status, error) = try await create("bad\(index)", authorizer)
                    #expect(status == 400, "\(label)")
                    #expect(error["__type"] as? String == "ValidationException", "\(label)")
                    #expect((error["message"] as? String)?.contains(field) == true, "\(label): \(error)")
                }
            }
            try await TestGateway.run(configure: { $0.auth.allowUnlistedIssuers = false }) { gateway in
                let response = try await gateway.send(
                    .PUT,
                    "\(gateway.baseURL)/runtimes/",
                    body: try ControlPlaneTests.createBody(name: "unlisted", url: "http://127.0.0.1:9", extra: ["authorizerConfiguration": ["customJWTAuthorizer": ["discoveryUrl": provider.discoveryURL]]]),
                    key: gateway.adminKey
                )
                #expect(response.status == 400)
                #expect(response.body.contains("not the discovery URL of an issuer listed in auth.issuers"))
            }
        }
    }

    @Test("an issuer's administrators may use the control plane with their tokens; other users may not")
    func jwtAdministrators() async throws {
        try await TestIdentityProvider.run { provider in
            try await TestGateway.run(configure: { configuration in
                configuration.auth.issuers = [
                    IssuerConfiguration(
                        name: "corp",
                        discoveryURL: provider.discoveryURL,
                        audiences: ["api://portcullis"],
                        administrators: AdministratorRule(groups: ["platform-admins"])
                    )
                ]
            }) { gateway in
                let admin = try provider.token(["groups": .array([.string("platform-admins")])])
                let user = try provider.token(["groups": .array([.string("everyone")])])
                let foreignAudience = try provider.token(["groups": .array([.string("platform-admins")]), "aud": .string("api://elsewhere")])
                #expect(try await gateway.send(.POST, "\(gateway.baseURL)/runtimes/", key: admin).status == 200)
                #expect(try await gateway.send(.POST, "\(gateway.baseURL)/runtimes/", key: user).status == 403)
                #expect(try await gateway.send(.POST, "\(gateway.baseURL)/runtimes/", key: foreignAudience).status == 401)
            }
        }
    }
}
