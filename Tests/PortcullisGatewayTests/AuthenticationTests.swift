import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
@testable import PortcullisCore
@testable import PortcullisGateway
import PortcullisIdentity
import PortcullisStore
import Testing

@Suite("Inbound authentication and authorization with API keys")
struct AuthenticationTests {
    @Test("every way a credential can be wrong is a 401 in the envelope, and nothing reaches the agent")
    func badCredentials() async throws {
        try await withTestAgent({ $0.addRecordingInvocations($1) }) { agentURL, recorder in
            try await TestGateway.run { gateway in
                let arn = try await gateway.registerAgent(name: "guarded", url: agentURL)
                let valid = gateway.invokeKey
                let wrongSecret = String(valid.dropLast()) + (valid.last == "a" ? "b" : "a")
                let cases: [[(String, String)]] = [
                    [],
                    [("Authorization", "Bearer \(wrongSecret)")],
                    [("Authorization", "Bearer pcs_zzzzzzzzzzzz_" + String(repeating: "A", count: 40))],
                    [("Authorization", "Bearer not-a-key")],
                    [("Authorization", "Bearer ")],
                    [("Authorization", "Basic dXNlcjpwYXNz")],
                    [("Authorization", "Bearer \(valid)"), ("X-API-Key", valid)],
                    [("Authorization", "Bearer \(valid)"), ("Authorization", "Bearer \(valid)")],
                    [("X-API-Key", wrongSecret)],
                    [("Authorization", "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")],
                ]
                for headers in cases {
                    let response = try await gateway.send(.POST, gateway.invocationURL(arn), headers: headers, body: "{}", key: .some(nil))
                    #expect(response.status == 401, "\(headers.map(\.0))")
                    #expect(response.headers.first(name: "X-Amzn-ErrorType") == "UnauthorizedException")
                    #expect(response.headers.first(name: "WWW-Authenticate")?.hasPrefix("Bearer") == true)
                    let message = try TestGateway.json(response.body)["message"] as? String ?? ""
                    #expect(!message.contains(valid) && !message.contains(wrongSecret), "no secret in an error")
                }
                let lower = try await gateway.send(.POST, gateway.invocationURL(arn), headers: [("Authorization", "bearer \(valid)")], body: "{}", key: .some(nil))
                #expect(lower.status == 200, "the scheme is case-insensitive")
                #expect(recorder.count == 1)
            }
        }
    }

    @Test("revocation applies at once in-process and within the cache lifetime from another process; expiry applies")
    func revocationAndExpiry() async throws {
        let clock = ManualClock()
        try await withTestAgent({ $0.addRecordingInvocations($1) }) { agentURL, _ in
            try await TestGateway.run(clock: clock, configure: { $0.auth.apiKeyCacheSeconds = 30 }) { gateway in
                let arn = try await gateway.registerAgent(name: "guarded", url: agentURL)
                let service = gateway.gateway.apiKeys
                let local = try await service.issue(name: "local", agents: ["*"], administrator: false, expiresAt: nil)
                #expect(try await gateway.send(.POST, gateway.invocationURL(arn), body: "{}", key: local.key).status == 200)
                #expect(try await service.revoke(id: local.record.id))
                #expect(try await gateway.send(.POST, gateway.invocationURL(arn), body: "{}", key: local.key).status == 401)

                // Another process (the CLI) revokes through its own store handle.
                let remote = try await service.issue(name: "remote", agents: ["*"], administrator: false, expiresAt: nil)
                #expect(try await gateway.send(.POST, gateway.invocationURL(arn), body: "{}", key: remote.key).status == 200)
                let otherProcess = APIKeyService(store: try SQLiteStore(path: try gateway.gateway.configuration.store.sqlitePath(), logger: testLogger))
                #expect(try await otherProcess.revoke(id: remote.record.id))
                #expect(try await gateway.send(.POST, gateway.invocationURL(arn), body: "{}", key: remote.key).status == 200, "cached for 30 s")
                clock.advance(by: 31)
                #expect(try await gateway.send(.POST, gateway.invocationURL(arn), body: "{}", key: remote.key).status == 401)

                let expiring = try await service.issue(name: "short", agents: ["*"], administrator: false, expiresAt: clock.now().addingTimeInterval(60))
                #expect(try await gateway.send(.POST, gateway.invocationURL(arn), body: "{}", key: expiring.key).status == 200)
                clock.advance(by: 61)
                #expect(try await gateway.send(.POST, gateway.invocationURL(arn), body: "{}", key: expiring.key).status == 401)
            }
        }
    }

    @Test("keys are scoped to agents, and JWT-only runtimes refuse API keys")
    func scopes() async throws {
        try await withTestAgent({ $0.addRecordingInvocations($1) }) { agentURL, recorder in
            try await TestGateway.run { gateway in
                let alpha = try await gateway.registerAgent(name: "alpha", url: agentURL)
                let beta = try await gateway.registerAgent(name: "beta", url: agentURL)
                let onlyAlpha = try await gateway.gateway.apiKeys.issue(name: "alpha-only", agents: ["alpha"], administrator: false, expiresAt: nil)
                #expect(try await gateway.send(.POST, gateway.invocationURL(alpha), body: "{}", key: onlyAlpha.key).status == 200)
                let denied = try await gateway.send(.POST, gateway.invocationURL(beta), body: "{}", key: onlyAlpha.key)
                #expect(denied.status == 403)
                #expect(try TestGateway.json(denied.body)["__type"] as? String == "AccessDeniedException")

                let (jwtRuntime, _) = try await gateway.gateway.registry.create(
                    name: "jwtonly",
                    configuration: AgentRuntimeConfiguration(
                        artifact: .endpoint(url: agentURL),
                        roleArn: "arn:aws:iam::123456789012:role/test",
                        authorizerConfiguration: .object([
                            "customJWTAuthorizer": .object(["discoveryUrl": .string("https://idp.example.com/.well-known/openid-configuration")])
                        ])
                    ),
                    tags: [:],
                    owner: .api
                )
                let refused = try await gateway.send(.POST, gateway.invocationURL(gateway.names.runtimeARN(runtimeId: jwtRuntime.id)), body: "{}")
                #expect(refused.status == 403)
                #expect(recorder.count == 1)
            }
        }
    }
}
