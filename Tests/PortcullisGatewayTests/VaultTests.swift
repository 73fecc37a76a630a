import Foundation
import HTTPTypes
import NIOHTTP1
import PortcullisCore
import PortcullisStore
import PortcullisVault
@testable import PortcullisGateway
import Testing

/// Workload identities, workload access tokens, API-key credential providers and the vault's reads, through the
/// gateway's own listener and through the endpoint inside a sandbox.
@Suite("Identity for agents: workload identities, access tokens and API-key providers")
struct VaultTests {
    static let sentinel = "sk-live-SENTINEL-7d41c09e5fb2a38c"

    /// `POST /identities/<operation>` with a JSON body.
    static func call(
        _ gateway: TestGateway, _ operation: String, _ body: [String: Any], key: String? = nil, base: String? = nil
    ) async throws -> (status: Int, json: [String: Any], body: String, headers: HTTPHeaders) {
        let text = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
        let response = try await gateway.send(
            .POST, (base ?? gateway.baseURL) + "/identities/" + operation, headers: [("Content-Type", "application/json")], body: text,
            key: .some(key ?? gateway.adminKey)
        )
        return (response.status, (try? TestGateway.json(response.body)) ?? [:], response.body, response.headers)
    }

    /// Every audit record so far, as stored.
    static func auditBodies(_ gateway: TestGateway) async throws -> [String] {
        await gateway.gateway.audit.flush()
        return try await gateway.gateway.store.auditRecords(AuditQuery(limit: 1000)).map(\.body)
    }

    @Test("the control plane manages workload identities with AgentCore shapes; a runtime's own identity goes with it")
    func workloadIdentities() async throws {
        try await TestGateway.run { gateway in
            let created = try await Self.call(gateway, "CreateWorkloadIdentity", [
                "name": "dev-workload", "allowedResourceOauth2ReturnUrls": ["https://app.example.com/callback", "http://localhost:8080/cb"],
            ])
            #expect(created.status == 201, "\(created.body)")
            #expect(created.json["workloadIdentityArn"] as? String == gateway.names.workloadIdentityARN(name: "dev-workload"))
            #expect(created.json["allowedResourceOauth2ReturnUrls"] as? [String] == ["https://app.example.com/callback", "http://localhost:8080/cb"])
            #expect(try await Self.call(gateway, "CreateWorkloadIdentity", ["name": "dev-workload"]).status == 409)
            for bad in ["javascript:alert(1)", "https://user@app.example.com/cb", "http://app.example.com/cb", "https://app.example.com/cb#x", "https://app.example.com/c b", "//evil.example"] {
                let refused = try await Self.call(gateway, "CreateWorkloadIdentity", ["name": "bad-workload", "allowedResourceOauth2ReturnUrls": [bad]])
                #expect(refused.status == 400, "\(bad) was accepted")
                #expect(refused.json["__type"] as? String == "ValidationException")
            }
            #expect(try await Self.call(gateway, "CreateWorkloadIdentity", ["name": "a"]).status == 400)
            #expect(try await Self.call(gateway, "CreateWorkloadIdentity", ["name": "no/slashes"]).status == 400)
            // Not for callers without the Administer actions.
            #expect(try await Self.call(gateway, "CreateWorkloadIdentity", ["name": "sneaky"], key: gateway.invokeKey).status == 403)
            #expect(try await Self.call(gateway, "GetWorkloadIdentity", ["name": "dev-workload"], key: gateway.invokeKey).status == 403)

            let got = try await Self.call(gateway, "GetWorkloadIdentity", ["name": "dev-workload"])
            #expect(got.status == 200)
            #expect(got.json["createdTime"] is NSNumber)
            let updated = try await Self.call(gateway, "UpdateWorkloadIdentity", ["name": "dev-workload", "allowedResourceOauth2ReturnUrls": []])
            #expect(updated.json["allowedResourceOauth2ReturnUrls"] as? [String] == [])

            // A runtime brings its own identity, listed with the others, and refuses to be deleted on its own.
            let arn = try await gateway.registerAgent(name: "support", url: "http://127.0.0.1:9")
            let runtimeId = String(arn.split(separator: "/").last!)
            var names: [String] = []
            var token: String?
            repeat {
                var request: [String: Any] = ["maxResults": 1]
                if let token { request["nextToken"] = token }
                let page = try await Self.call(gateway, "ListWorkloadIdentities", request)
                #expect(page.status == 200, "\(page.body)")
                names += (page.json["workloadIdentities"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
                token = page.json["nextToken"] as? String
            } while token != nil
            #expect(names == ["dev-workload", runtimeId].sorted())
            let owned = try await Self.call(gateway, "DeleteWorkloadIdentity", ["name": runtimeId])
            #expect(owned.status == 400, "\(owned.body)")
            #expect(try await Self.call(gateway, "DeleteWorkloadIdentity", ["name": "dev-workload"]).status == 204)
            #expect(try await Self.call(gateway, "GetWorkloadIdentity", ["name": "dev-workload"]).status == 404)
            #expect(try await gateway.gateway.store.workloadIdentity(name: runtimeId)?.runtimeId == runtimeId)
            _ = try await gateway.gateway.registry.delete(runtimeId: runtimeId, as: .api)
            var remaining = try await gateway.gateway.store.workloadIdentity(name: runtimeId)
            for _ in 0..<100 where remaining != nil {
                try await Task.sleep(for: .milliseconds(100))
                remaining = try await gateway.gateway.store.workloadIdentity(name: runtimeId)
            }
            #expect(remaining == nil, "the runtime's identity goes with the runtime")
        }
    }

    @Test("API-key providers take their key and never give it back, except to an authorized workload; changes are audited without it")
    func apiKeyProviders() async throws {
        try await TestGateway.run { gateway in
            let created = try await Self.call(gateway, "CreateApiKeyCredentialProvider", [
                "name": "search", "apiKey": Self.sentinel, "tags": ["portcullis:agents": "recorder"],
            ])
            #expect(created.status == 201, "\(created.body)")
            #expect(created.json["credentialProviderArn"] as? String == gateway.names.credentialProviderARN(kind: .apiKey, name: "search"))
            let secretArn = try #require((created.json["apiKeySecretArn"] as? [String: Any])?["secretArn"] as? String)
            #expect(secretArn.hasPrefix("arn:aws:secretsmanager:us-east-1:123456789012:secret:bedrock-agentcore-identity!default/apikey/search-"))
            #expect(try await Self.call(gateway, "CreateApiKeyCredentialProvider", ["name": "search", "apiKey": "x"]).status == 409)
            #expect(try await Self.call(gateway, "CreateApiKeyCredentialProvider", ["name": "bad name", "apiKey": "x"]).status == 400)
            #expect(try await Self.call(gateway, "CreateApiKeyCredentialProvider", ["name": "empty", "apiKey": ""]).status == 400)
            #expect(try await Self.call(gateway, "CreateApiKeyCredentialProvider", ["name": "nokey", "apiKey": "x"], key: gateway.invokeKey).status == 403)
            var bodies = [created.body]
            let got = try await Self.call(gateway, "GetApiKeyCredentialProvider", ["name": "search"])
            #expect(got.status == 200)
            #expect(got.json["lastUpdatedTime"] is NSNumber)
            bodies.append(got.body)
            let updated = try await Self.call(gateway, "UpdateApiKeyCredentialProvider", ["name": "search", "apiKey": Self.sentinel + "-v2"])
            #expect(updated.status == 200, "\(updated.body)")
            bodies.append(updated.body)
            _ = try await Self.call(gateway, "CreateApiKeyCredentialProvider", ["name": "payroll", "apiKey": "payroll-key"])
            let listed = try await Self.call(gateway, "ListApiKeyCredentialProviders", [:])
            #expect((listed.json["credentialProviders"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["payroll", "search"])
            bodies.append(listed.body)
            let vault = try await Self.call(gateway, "get-token-vault", [:])
            #expect(vault.json["tokenVaultId"] as? String == "default")
            for body in bodies + (try await Self.auditBodies(gateway)) {
                #expect(!body.contains("SENTINEL"), "the API key leaked: \(body)")
            }
            let audited = try await Self.auditBodies(gateway).joined(separator: "\n")
            #expect(audited.contains("CreateApiKeyCredentialProvider"))
            #expect(audited.contains("UpdateApiKeyCredentialProvider"))
            #expect(try await Self.call(gateway, "DeleteApiKeyCredentialProvider", ["name": "payroll"]).status == 204)
            #expect(try await Self.call(gateway, "GetApiKeyCredentialProvider", ["name": "payroll"]).status == 404)
        }
    }

    @Test("every call hands the agent a workload access token for its workload and caller; the vault answers it for granted providers only")
    func accessTokensAndVaultReads() async throws {
        let clock = ManualClock()
        try await TestIdentityProvider.run { provider in
            try await withTestAgent({ $0.addRecordingInvocations($1) }) { agentURL, recorder in
                try await TestGateway.run(clock: clock) { gateway in
                    let arn = try await gateway.registerAgent(
                        name: "recorder", url: agentURL, authorizer: CustomJWTAuthorizer(discoveryURL: provider.discoveryURL, allowedScopes: ["agents:invoke"])
                    )
                    let runtimeId = String(arn.split(separator: "/").last!)
                    _ = try await Self.call(gateway, "UpdateWorkloadIdentity", ["name": runtimeId, "allowedResourceOauth2ReturnUrls": ["https://app.example.com/done"]])
                    _ = try await Self.call(gateway, "CreateApiKeyCredentialProvider", ["name": "search", "apiKey": Self.sentinel, "tags": ["portcullis:agents": "recorder"]])
                    _ = try await Self.call(gateway, "CreateApiKeyCredentialProvider", ["name": "payroll", "apiKey": "payroll-key"])

                    // A user with an access token: the agent's token is bound to the token's issuer and subject.
                    let userToken = try provider.token(["sub": .string("alice")], now: clock.now())
                    let invoked = try await gateway.send(.POST, gateway.invocationURL(arn), headers: [("Content-Type", "application/json")], body: "{}", key: .some(userToken))
                    #expect(invoked.status == 200, "\(invoked.body)")
                    let headers = try #require(recorder.requests.last?.headers)
                    let wat = try #require(headers[HTTPField.Name("X-Amz-Bedrock-AgentCore-Identity-WAT")!])
                    #expect(headers[HTTPField.Name("WorkloadAccessToken")!] == wat)
                    #expect(headers[HTTPField.Name("OAuth2CallbackUrl")!] == "https://app.example.com/done")
                    let claims = try gateway.gateway.workloadTokens.open(wat, now: clock.now())
                    #expect(claims.workload == runtimeId)
                    #expect(claims.user == .token(issuer: provider.issuer, subject: "alice"))

                    // The vault answers that token for the provider granted to the agent — and for nothing else.
                    let read = try await Self.call(gateway, "api-key", ["workloadIdentityToken": wat, "resourceCredentialProviderName": "search"], key: gateway.invokeKey)
                    #expect(read.status == 200, "\(read.body)")
                    #expect(read.json["apiKey"] as? String == Self.sentinel)
                    let denied = try await Self.call(gateway, "api-key", ["workloadIdentityToken": wat, "resourceCredentialProviderName": "payroll"], key: gateway.invokeKey)
                    let missing = try await Self.call(gateway, "api-key", ["workloadIdentityToken": wat, "resourceCredentialProviderName": "nothing-here"], key: gateway.invokeKey)
                    #expect(denied.status == 403)
                    #expect(missing.status == 403, "an absent provider looks like a forbidden one: \(missing.body)")
                    #expect(denied.json["message"] as? String == missing.json["message"] as? String)
                    var tampered = Array(wat.utf8)
                    tampered[tampered.count - 3] = tampered[tampered.count - 3] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
                    let forged = try await Self.call(
                        gateway, "api-key", ["workloadIdentityToken": String(decoding: tampered, as: UTF8.self), "resourceCredentialProviderName": "search"],
                        key: gateway.invokeKey
                    )
                    #expect(forged.status == 401, "\(forged.body)")
                    #expect(try await gateway.send(.POST, gateway.baseURL + "/identities/api-key", body: "{}", key: .some(nil)).status == 401)

                    // An API-key caller (of an agent without a JWT authorizer) gets a token for no user.
                    let plainArn = try await gateway.registerAgent(name: "plain", url: agentURL)
                    let plainCall = try await gateway.send(.POST, gateway.invocationURL(plainArn), headers: [("Content-Type", "application/json")], body: "{}")
                    #expect(plainCall.status == 200)
                    let anonymous = try #require(recorder.requests.last?.headers[HTTPField.Name("X-Amz-Bedrock-AgentCore-Identity-WAT")!])
                    let anonymousClaims = try gateway.gateway.workloadTokens.open(anonymous, now: clock.now())
                    #expect(anonymousClaims.user == nil)
                    #expect(anonymousClaims.workload == String(plainArn.split(separator: "/").last!))

                    // Tokens expire: the agent gets a fresh one with every call.
                    clock.advance(by: Double(gateway.gateway.configuration.auth.workloadTokenSeconds) + 1)
                    let expired = try await Self.call(gateway, "api-key", ["workloadIdentityToken": wat, "resourceCredentialProviderName": "search"], key: gateway.invokeKey)
                    #expect(expired.status == 401)
                    #expect(expired.json["__type"] as? String == "UnauthorizedException")

                    let audited = try await Self.auditBodies(gateway)
                    let reads = audited.filter { $0.contains("vault.access") }
                    #expect(reads.count == 3, "\(reads)")
                    #expect(reads.contains { $0.contains(#""outcome":"success""#) && $0.contains("search") })
                    #expect(reads.contains { $0.contains(#""outcome":"denied""#) && $0.contains("payroll") })
                    for body in audited { #expect(!body.contains("SENTINEL")) }
                }
            }
        }
    }

    @Test("workload access tokens are minted for standalone identities by administrators, bound to a verified user token")
    func mintingOutsideInvocations() async throws {
        try await TestIdentityProvider.run { provider in
            try await TestGateway.run(configure: { configuration in
                configuration.auth.issuers = [IssuerConfiguration(name: "idp", discoveryURL: provider.discoveryURL)]
            }) { gateway in
                _ = try await Self.call(gateway, "CreateWorkloadIdentity", ["name": "local-dev"])
                let plain = try await Self.call(gateway, "GetWorkloadAccessToken", ["workloadName": "local-dev"])
                #expect(plain.status == 200, "\(plain.body)")
                let token = try #require(plain.json["workloadAccessToken"] as? String)
                #expect(try gateway.gateway.workloadTokens.open(token, now: Date()).workload == "local-dev")
                let forUser = try await Self.call(gateway, "GetWorkloadAccessTokenForJWT", ["workloadName": "local-dev", "userToken": try provider.token(["sub": .string("bob")])])
                #expect(forUser.status == 200, "\(forUser.body)")
                let bound = try gateway.gateway.workloadTokens.open(try #require(forUser.json["workloadAccessToken"] as? String), now: Date())
                #expect(bound.user == .token(issuer: provider.issuer, subject: "bob"))
                let badUser = try await Self.call(gateway, "GetWorkloadAccessTokenForJWT", ["workloadName": "local-dev", "userToken": try provider.token(["exp": .number(1)])])
                #expect(badUser.status == 401)
                #expect(try await Self.call(gateway, "GetWorkloadAccessToken", ["workloadName": "local-dev"], key: gateway.invokeKey).status == 403)
                #expect(try await Self.call(gateway, "GetWorkloadAccessTokenForUserId", ["workloadName": "local-dev", "userId": "u1"]).status == 403)
                #expect(try await Self.call(gateway, "GetWorkloadAccessToken", ["workloadName": "no-such-workload"]).status == 404)
                // A runtime's identity gets its tokens from the runtime, not from outside callers.
                let arn = try await gateway.registerAgent(name: "hosted", url: "http://127.0.0.1:9")
                let runtimeToken = try await Self.call(gateway, "GetWorkloadAccessToken", ["workloadName": String(arn.split(separator: "/").last!)])
                #expect(runtimeToken.status == 403, "\(runtimeToken.body)")
            }
        }
    }

    @Test(
        "inside a sandbox the agent reads granted keys through its own endpoint, and another workload's token does not work there",
        .enabled(if: canRunSandboxes, "needs root and bubblewrap (apt-get install bubblewrap)")
    )
    func sandboxEndpoint() async throws {
        try await SandboxTests.withProbe { gateway, arn in
            let providers = gateway.gateway.credentialProviders
            _ = try await providers.create(name: "search", kind: .apiKey, secret: Self.sentinel, tags: ["portcullis:agents": "probe"])
            _ = try await providers.create(name: "payroll", kind: .apiKey, secret: "payroll-key", tags: [:])
            let session = SandboxTests.session("v")
            let echo = try await SandboxTests.probe(gateway, arn, session: session, ["action": "echo", "variable": "BEDROCK_AGENTCORE_DP_ENDPOINT"])
            #expect(echo.json["environment"] as? String == "http://127.0.0.1:8790")
            #expect(echo.json["workloadAccessToken"] as? String != nil)
            #expect(echo.json["workloadAccessToken"] as? String == echo.json["workloadAccessTokenA2A"] as? String)

            let read = try await SandboxTests.probe(gateway, arn, session: session, ["action": "vault", "provider": "search"])
            let answer = try #require(read.json["ok"] as? [String: Any], "\(read.json)")
            #expect(answer["status"] as? Int == 200, "\(answer)")
            #expect((answer["body"] as? [String: Any])?["apiKey"] as? String == Self.sentinel)
            let denied = try #require(try await SandboxTests.probe(gateway, arn, session: session, ["action": "vault", "provider": "payroll"]).json["ok"] as? [String: Any])
            #expect(denied["status"] as? Int == 403)
            // A token of another workload — valid, unexpired, sealed by this gateway — is refused in this sandbox.
            _ = try await Self.call(gateway, "CreateWorkloadIdentity", ["name": "elsewhere"])
            _ = try await providers.create(name: "theirs", kind: .apiKey, secret: "their-key", tags: ["portcullis:workloads": "elsewhere"])
            let foreign = gateway.gateway.workloadTokens.mint(workload: "elsewhere", user: nil, now: Date())
            let stolen = try #require(try await SandboxTests.probe(gateway, arn, session: session, ["action": "vault", "provider": "theirs", "token": foreign]).json["ok"] as? [String: Any])
            #expect(stolen["status"] as? Int == 403, "\(stolen)")
            #expect(((stolen["body"] as? [String: Any])?["message"] as? String)?.contains("does not belong to this agent") == true)
            let unknown = try #require(try await SandboxTests.probe(gateway, arn, session: session, ["action": "vault", "provider": "search", "path": "/runtimes/x/invocations"]).json["ok"] as? [String: Any])
            #expect(unknown["status"] as? Int == 404)
        }
    }
}
