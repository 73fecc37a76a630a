import NIOCore
import AsyncHTTPClient
import Crypto
import Foundation
import NIOHTTP1
import PortcullisCore
import PortcullisSessions
import PortcullisStore
import PortcullisVault
@testable import PortcullisGateway
import Testing

/// The wheels of the example agents' requirements, downloaded by `scripts/install-test-deps.sh`.
let exampleWheelhouse = packageRoot.appendingPathComponent(".venv/wheelhouse").path

/// The agents in `examples/agents`, written with the real SDKs, deployed as code and reached through the gateway by
/// real clients. Their requirements come from the wheels `scripts/install-test-deps.sh` downloads.
@Suite(
    "Example agents built with the bedrock-agentcore, mcp and a2a SDKs, in sandboxes",
    .enabled(if: canRunSandboxes, "needs root and bubblewrap (apt-get install bubblewrap)"),
    .enabled(if: FileManager.default.fileExists(atPath: exampleWheelhouse), "needs the example agents' wheels: run ./scripts/install-test-deps.sh")
)
struct ExampleAgentTests {
    static let wheelhouse = exampleWheelhouse
    static let examples = packageRoot.appendingPathComponent("examples/agents").path

    static func withExample<T: Sendable>(
        _ name: String,
        protocol serverProtocol: ServerProtocol,
        clock: any WallClock = SystemWallClock(),
        driver: SandboxConfiguration.Driver = .bubblewrap,
        _ body: (TestGateway, String) async throws -> T
    ) async throws -> T {
        try await MicroVMExclusion.run(usesMicroVMs: driver == .microvm) {
            try await gateway(name, protocol: serverProtocol, clock: clock, driver: driver, body)
        }
    }

    private static func gateway<T: Sendable>(
        _ name: String, protocol serverProtocol: ServerProtocol, clock: any WallClock, driver: SandboxConfiguration.Driver,
        _ body: (TestGateway, String) async throws -> T
    ) async throws -> T {
        try await TestGateway.run(clock: clock, configure: { configuration in
            configuration.sandbox = SandboxConfiguration(driver: .bubblewrap, memoryMiB: 512, cpus: 1, maxProcesses: 128, writableMiB: 32, startTimeoutSeconds: 30)
            if driver == .microvm {
                // Python starts some 20 times slower under software emulation.
                configuration.sandbox.driver = .microvm
                configuration.sandbox.startTimeoutSeconds = 180
                configuration.sandbox.microvm = MicroVMConfiguration(guestDirectory: microVMGuest, vcpus: 1)
            }
            configuration.artifacts = ArtifactsConfiguration(pip: PipConfiguration(findLinks: [wheelhouse], noIndex: true))
            configuration.agents = [
                DeclaredAgent(
                    name: name,
                    configuration: AgentRuntimeConfiguration(
                        artifact: .code(CodeArtifact(source: .path("\(examples)/\(name)"), runtime: "PYTHON_3_11", entryPoint: ["main.py"])),
                        roleArn: DeclaredAgent.roleArn,
                        protocolConfiguration: ProtocolConfiguration(serverProtocol: serverProtocol),
                        lifecycle: LifecycleConfiguration(idleRuntimeSessionTimeout: 60, maxLifetime: 3600),
                        requestHeaderAllowlist: ["X-Tenant-Id"]
                    )
                )
            ]
        }) { gateway in
            try await body(gateway, try #require(try await gateway.gateway.runtimeARN(named: name)))
        }
    }

    @Test("the bedrock-agentcore SDK agent sees the session id, request id and allowlisted headers, streams SSE, and its async_task keeps the session HealthyBusy")
    func sdkAgent() async throws {
        let clock = ManualClock()
        try await Self.withExample("http_agent", protocol: .http, clock: clock) { gateway, arn in
            let session = SandboxTests.session("s")
            let headers = [
                ("Content-Type", "application/json"),
                ("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id", session),
                ("X-Amzn-Bedrock-AgentCore-Runtime-Custom-Team", "blue"),
                ("X-Tenant-Id", "tenant-7"),
                ("X-Not-Allowlisted", "dropped"),
            ]
            let answer = try await gateway.send(.POST, gateway.invocationURL(arn), headers: headers, body: #"{"prompt": "hello"}"#)
            #expect(answer.status == 200, "\(answer.body)")
            let json = try TestGateway.json(answer.body)
            #expect(json["echo"] as? [String: String] == ["prompt": "hello"])
            #expect(json["sessionId"] as? String == session)
            let requestId = try #require(answer.headers.first(name: "X-Amzn-RequestId"))
            #expect(json["requestId"] as? String == requestId, "the SDK sees the gateway's request id")
            let seen = try #require(json["headers"] as? [String: String])
            #expect(seen.first { $0.key.lowercased() == "x-amzn-bedrock-agentcore-runtime-custom-team" }?.value == "blue")
            #expect(seen.first { $0.key.lowercased() == "x-tenant-id" }?.value == "tenant-7", "\(seen)")
            #expect(!seen.keys.contains { $0.lowercased() == "x-not-allowlisted" })
            #expect(!seen.keys.contains { $0.lowercased() == "authorization" }, "the gateway's credential is not forwarded")

            let stream = try await gateway.send(.POST, gateway.invocationURL(arn), headers: headers, body: #"{"stream": 3}"#)
            #expect(stream.status == 200)
            #expect(stream.headers.first(name: "Content-Type")?.hasPrefix("text/event-stream") == true)
            let events = stream.body.split(separator: "\n").filter { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) }
            #expect(events.count == 3, "\(stream.body)")
            #expect(try events.map { try TestGateway.json($0)["chunk"] as? Int } == [0, 1, 2])

            // Background work started with @app.async_task: /ping says HealthyBusy, so idling past the timeout
            // does not end the session; once the work is done, it does.
            let sandboxes = try #require(gateway.gateway.sessions.sandboxes)
            #expect(try await gateway.send(.POST, gateway.invocationURL(arn), headers: headers, body: #"{"background": 4}"#).status == 200)
            clock.advance(by: 61)
            await sandboxes.sweep()
            #expect(sandboxes.count == 1, "HealthyBusy while the async task runs")
            try await Task.sleep(for: .seconds(5))
            clock.advance(by: 61)
            await sandboxes.sweep()
            #expect(sandboxes.count == 0, "Healthy and idle past the timeout: ended")
        }
    }

    @Test("the SDK's @requires_api_key gets the key of a provider granted to the agent from the vault, unmodified, through the sandbox's endpoint")
    func vaultAgent() async throws {
        try await Self.withExample("vault_agent", protocol: .http) { gateway, arn in
            let key = "sk-example-" + SecureRandom.alphanumeric(24)
            let providers = gateway.gateway.credentialProviders
            _ = try await providers.create(name: "search-api", kind: .apiKey, secret: key, tags: ["portcullis:agents": "vault_agent"])
            let session = SandboxTests.session("k")
            let headers = [("Content-Type", "application/json"), ("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id", session)]
            let answer = try await gateway.send(.POST, gateway.invocationURL(arn), headers: headers, body: #"{"apiKey": true}"#)
            #expect(answer.status == 200, "\(answer.body)")
            let json = try TestGateway.json(answer.body)
            #expect(json["hasWorkloadAccessToken"] as? Bool == true)
            let fingerprint = try #require(json["apiKey"] as? [String: Any], "\(json)")
            #expect(fingerprint["length"] as? Int == key.utf8.count)
            #expect(fingerprint["sha256"] as? String == Hex.encode(SHA256.hash(data: Array(key.utf8))))
            // Taken away from the agent, the decorator's call fails and so does the invocation.
            _ = try await providers.delete(kind: .apiKey, name: "search-api")
            _ = try await providers.create(name: "search-api", kind: .apiKey, secret: key, tags: [:])
            let refused = try await gateway.send(.POST, gateway.invocationURL(arn), headers: headers, body: #"{"apiKey": true}"#)
            #expect(refused.status != 200, "\(refused.body)")
            await gateway.gateway.audit.flush()
            let reads = try await gateway.gateway.store.auditRecords(AuditQuery(kinds: [.vaultAccess], limit: 10))
            #expect(reads.map(\.event.outcome) == ["success", "denied"], "\(reads.map(\.body))")
            #expect(reads.allSatisfy { !$0.body.contains(key) })
        }
    }

    @Test("the SDK's @requires_access_token(USER_FEDERATION), unmodified: the user follows the streamed authorization URL, signs in and consents; the SDK's poll gets the token; the next call needs no consent")
    func vaultAgentUserConsent() async throws {
        let github = StandInVendor(style: .github)
        try await github.run { vendorURL in
            try await TestGateway.runDevelopment(configure: { configuration in
                configuration.sandbox = SandboxConfiguration(driver: .bubblewrap, memoryMiB: 512, cpus: 1, maxProcesses: 128, writableMiB: 32, startTimeoutSeconds: 30)
                configuration.artifacts = ArtifactsConfiguration(pip: PipConfiguration(findLinks: [Self.wheelhouse], noIndex: true))
                configuration.vault.vendorEndpoints = ["GithubOauth2": VaultConfiguration.VendorEndpoints(authorizationEndpoint: vendorURL + "/authorize", tokenEndpoint: vendorURL + "/token")]
                let issuer = configuration.development!.issuer
                configuration.agents = [
                    DeclaredAgent(
                        name: "vault_agent",
                        configuration: AgentRuntimeConfiguration(
                            artifact: .code(CodeArtifact(source: .path("\(Self.examples)/vault_agent"), runtime: "PYTHON_3_11", entryPoint: ["main.py"])),
                            roleArn: DeclaredAgent.roleArn,
                            lifecycle: LifecycleConfiguration(idleRuntimeSessionTimeout: 120, maxLifetime: 3600),
                            authorizerConfiguration: .object(["customJWTAuthorizer": CustomJWTAuthorizer(discoveryURL: issuer + "/.well-known/openid-configuration").json])
                        )
                    )
                ]
            }) { gateway in
                let arn = try #require(try await gateway.gateway.runtimeARN(named: "vault_agent"))
                let created = try await VaultTests.call(gateway, "CreateOauth2CredentialProvider", [
                    "name": "github", "credentialProviderVendor": "GithubOauth2", "tags": ["portcullis:agents": "vault_agent"],
                    "oauth2ProviderConfigInput": ["githubOauth2ProviderConfig": ["clientId": github.clientId, "clientSecret": github.clientSecret]],
                ])
                #expect(created.status == 201, "\(created.body)")
                let alice = try #require(try gateway.gateway.developmentToken(user: "alice", lifetime: 3600))
                try await TestBrowser.with { (browser: TestBrowser) async throws in
                    var request = HTTPClientRequest(url: gateway.invocationURL(arn))
                    request.method = .POST
                    request.headers.add(name: "Authorization", value: "Bearer \(alice)")
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.headers.add(name: "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id", value: SandboxTests.session("o"))
                    request.body = .bytes(ByteBuffer(string: #"{"oauth2": true}"#))
                    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
                    #expect(response.status == .ok)
                    var text = ""
                    var consented = false
                    for try await chunk in response.body {
                        text += String(buffer: chunk)
                        guard !consented, let url = text.slice(from: "\"authorizationUrl\": \"", to: "\"") else { continue }
                        // The user: opens the link the agent streamed, signs in as Alice, consents at the vendor.
                        consented = true
                        let setup = OAuth2VaultTests.Consent(gateway: gateway, vendor: github, vendorURL: vendorURL, alice: .id("unused"), clock: ManualClock())
                        let done = try await OAuth2VaultTests.consent(browser, setup, authorizationURL: url)
                        #expect(done.status == 200 && done.body.contains("Access granted"), "\(done.body)")
                    }
                    #expect(consented, "the agent streamed an authorization URL: \(text)")
                    let fingerprint = try #require(text.slice(from: "\"sha256\": \"", to: "\""), "\(text)")
                    #expect(github.issuedAccessTokens.map { Hex.encode(SHA256.hash(data: Array($0.utf8))) } == [fingerprint], "the agent got the token the vendor issued")

                    // Vaulted now: the next call gets it without a link.
                    let again = try await gateway.send(
                        .POST, gateway.invocationURL(arn), headers: [("Content-Type", "application/json"), ("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id", SandboxTests.session("p"))],
                        body: #"{"oauth2": true}"#, key: .some(alice)
                    )
                    #expect(again.status == 200)
                    #expect(!again.body.contains("authorizationUrl") && again.body.contains(fingerprint), "\(again.body)")
                    #expect(github.authorizeRequests.count == 1 && github.tokenRequests("authorization_code") == 1)
                }
            }
        }
    }

    @Test(
        "the official MCP client uses the FastMCP example through the gateway: initialize, tools/list, tools/call; its DELETE ends the sandbox",
        .enabled(if: ExternalProcess.python != nil, "needs a Python with the mcp SDK: run ./scripts/test.sh, or set PORTCULLIS_TEST_PYTHON")
    )
    func mcpServer() async throws {
        let python = try #require(ExternalProcess.python)
        try await Self.withExample("mcp_server", protocol: .mcp) { gateway, arn in
            let script = packageRoot.appendingPathComponent("Tests/interop/mcp_example_client.py").path
            let result = try await ExternalProcess.run(python, [script, gateway.invocationURL(arn), gateway.invokeKey])
            #expect(result.status == 0, "\(result.error)")
            let outcome = try TestGateway.json(result.output)
            #expect(outcome["tools"] as? [String] == ["add", "echo"])
            #expect(outcome["add"] as? String == "5")
            #expect(outcome["echo"] as? String == "through the sandbox")
            let sessionId = try #require(outcome["sessionId"] as? String, "the gateway gives a stateless server's client an Mcp-Session-Id")
            #expect(RuntimeSessionId.isValid(sessionId))
            let statuses = try #require(outcome["statuses"] as? [Int])
            #expect(statuses.allSatisfy { [200, 202, 204, 405].contains($0) }, "\(outcome)")
            #expect(statuses.contains(405), "the listening GET is refused as Streamable HTTP prescribes: \(statuses)")
            // The listening GET runs beside the calls, so its 405 may be recorded after the DELETE.
            #expect(statuses.contains(204), "the client's DELETE ends the session: \(statuses)")
            #expect(gateway.gateway.sessions.sandboxes?.count == 0, "ending the MCP session ended its sandbox")
        }
    }

    @Test(
        "the a2a-sdk client resolves the A2A example's card through the gateway and talks to it there, plain and streamed, in one session",
        .enabled(if: ExternalProcess.python != nil, "needs a Python with a2a-sdk: run ./scripts/test.sh, or set PORTCULLIS_TEST_PYTHON")
    )
    func a2aAgent() async throws {
        let python = try #require(ExternalProcess.python)
        try await Self.withExample("a2a_agent", protocol: .a2a) { gateway, arn in
            let script = packageRoot.appendingPathComponent("Tests/interop/a2a_example_client.py").path
            let session = SandboxTests.session("a2a")
            let result = try await ExternalProcess.run(python, [script, gateway.invocationURL(arn), gateway.invokeKey, session])
            #expect(result.status == 0, "\(result.error)")
            let outcome = try TestGateway.json(result.output)
            let plain = try #require(outcome["plain"] as? [String: Any])
            let streamed = try #require(outcome["streamed"] as? [String: Any])
            #expect(plain["card"] as? String == "portcullis-a2a-example")
            #expect(plain["cardURL"] as? String == gateway.invocationURL(arn), "the card advertises the gateway's invocation URL, not the sandbox port")
            #expect(plain["text"] as? String == "echo: hello over a2a")
            #expect(plain["state"] as? String == "TASK_STATE_COMPLETED")
            #expect(streamed["text"] as? String == "echo: and streamed")
            #expect((streamed["events"] as? Int ?? 0) > 1, "streamed as several SSE events: \(streamed)")
            #expect(plain["session"] as? String == session && streamed["session"] as? String == session)
            #expect(outcome["statuses"] as? [Int] == [200, 200, 200, 200], "\(outcome)")
            #expect(gateway.gateway.sessions.sandboxes?.count == 1, "both calls ran in the one session's sandbox")
        }
    }
}
