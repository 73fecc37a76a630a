import AsyncHTTPClient
import Foundation
import HTTPTypes
import NIOHTTP1
import NIOCore
import NIOSSL
@testable import PortcullisCore
@testable import PortcullisGateway
import Testing

@Suite("Configuration file, declared agents and HTTPS")
struct ConfigurationTests {
    @Test("a complete file decodes every key")
    func fullFile() throws {
        let configuration = try ConfigurationFile.parse(
            """
            server:
              listen: "0.0.0.0:9443"
              idleTimeoutSeconds: 30
              maxHeaderBytes: 32768
              controlPlane: false
              publicURL: https://agents.example.com/
              tls:
                certificateChain: /etc/portcullis/cert.pem
                privateKey: /etc/portcullis/key.pem
            store:
              dataDirectory: /var/lib/portcullis
            resources:
              region: eu-west-1
              accountId: "210987654321"
            limits:
              maxPayloadBytes: 5000000
              maxControlPlaneBodyBytes: 65536
              maxForwardedHeaderBytes: 2048
              webSocketMaxFrameBytes: 65536
              webSocketMaxMessageBytes: 1048576
              maxMcpRequestBytes: 2000000
            upstream:
              connectTimeoutSeconds: 2
              readTimeoutSeconds: 60
              maxStreamSeconds: 600
              maxConnectionsPerHost: 32
            sessions:
              maxTrackedSessions: 500
            auth:
              apiKeyCacheSeconds: 1
              allowUnlistedIssuers: false
              tokenCacheEntries: 500
              sigV4ClockSkewSeconds: 120
              browserSessionSeconds: 3600
              issuers:
                - name: corp-okta
                  profile: okta
                  discoveryUrl: https://acme.okta.com/oauth2/default/.well-known/openid-configuration
                  audiences: [api://default]
                  algorithms: [RS256]
                  leewaySeconds: 30
                  requiredTokenType: at+jwt
                  administrators: {groups: [platform-admins]}
                  signIn: {clientId: 0oa1web, clientSecretEnv: OKTA_SECRET, cliClientId: 0oa1cli}
                  keySet: {refreshSeconds: 1800, unknownKeyRefetchSeconds: 20}
                - name: entra
                  profile: entra
                  discoveryUrl: https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration
                  tenants: [72f988bf-86f1-41af-91ab-2d7cd011db47]
                  appId: 6e74172b-be56-4843-9ff4-e66a39bb12e3
                - name: pool
                  profile: cognito
                  issuer: https://cognito-idp.us-east-1.amazonaws.com/us-east-1_example
                  jwksUri: https://cognito-idp.us-east-1.amazonaws.com/us-east-1_example/.well-known/jwks.json
                  clientIds: [1example23456789]
                  acceptIdTokens: true
                - name: keycloak
                  discoveryUrl: https://sso.example.com/realms/main/.well-known/openid-configuration
                  claims: {subject: preferred_username, groups: realm_roles, scopes: [scope], clientId: azp}
            policies:
              directory: /etc/portcullis/policies
              reloadIntervalSeconds: 10
              recordAllowed: full
              decisionRetentionDays: 7
            logging:
              level: debug
            agents:
              - name: support
                endpoint: https://agents.internal:8443/support
                description: Support agent
                protocol: MCP
                requestHeaderAllowlist: [X-Tenant-Id]
                idleRuntimeSessionTimeout: 300
                maxLifetime: 3600
                environmentVariables: {MODE: prod}
                tags: {team: support}
              - name: packaged
                image: docker-archive:/srv/images/agent.tar:v3
                protocol: A2A
              - name: secured
                endpoint: http://127.0.0.1:9100
                requestHeaderAllowlist: [Authorization]
                customJWTAuthorizer:
                  discoveryUrl: https://acme.okta.com/oauth2/default/.well-known/openid-configuration
                  allowedClients: [0oa1web]
                  customClaims:
                    - inboundTokenClaimName: groups
                      inboundTokenClaimValueType: STRING_ARRAY
                      authorizingClaimMatchValue: {claimMatchOperator: CONTAINS, claimMatchValue: {matchValueString: support}}
            """
        )
        #expect(configuration.server.listen == ListenAddress(host: "0.0.0.0", port: 9443))
        #expect(configuration.server.tls == TLSFiles(certificateChain: "/etc/portcullis/cert.pem", privateKey: "/etc/portcullis/key.pem"))
        #expect(configuration.server.controlPlane == false)
        #expect(try configuration.store.sqlitePath() == "/var/lib/portcullis/portcullis.sqlite")
        #expect(configuration.resources == ResourceNames(region: "eu-west-1", accountId: "210987654321"))
        #expect(configuration.limits.maxPayloadBytes == 5_000_000)
        #expect(configuration.limits.maxMcpRequestBytes == 2_000_000)
        #expect(configuration.policies == PolicyConfiguration(
            directory: "/etc/portcullis/policies", reloadIntervalSeconds: 10, recordAllowed: .full, decisionRetentionDays: 7
        ))
        #expect(configuration.upstream.readTimeoutSeconds == 60)
        #expect(configuration.sessions.maxTrackedSessions == 500)
        #expect(configuration.server.publicURL == "https://agents.example.com")
        #expect(configuration.auth.apiKeyCacheSeconds == 1)
        #expect(configuration.auth.allowUnlistedIssuers == false && configuration.auth.tokenCacheEntries == 500)
        #expect(configuration.auth.issuers.map(\.name) == ["corp-okta", "entra", "pool", "keycloak"])
        let okta = configuration.auth.issuers[0]
        #expect(okta.profile == .okta && okta.algorithms == [.rs256] && okta.leewaySeconds == 30 && okta.requiredTokenType == "at+jwt")
        #expect(okta.administrators?.groups == ["platform-admins"] && okta.signIn?.cliClientId == "0oa1cli")
        #expect(okta.keySet.refreshSeconds == 1800 && okta.keySet.unknownKeyRefetchSeconds == 20)
        #expect(configuration.auth.issuers[1].tenants == ["72f988bf-86f1-41af-91ab-2d7cd011db47"])
        #expect(configuration.auth.issuers[2].acceptIdTokens && configuration.auth.issuers[2].clientIds == ["1example23456789"])
        #expect(configuration.auth.issuers[3].claims.subject == "preferred_username")
        let packaged = try #require(configuration.agents.first { $0.name == "packaged" })
        guard case .image(let image) = packaged.configuration.artifact else { throw TestFailure("packaged is not an image: \(packaged.configuration.artifact)") }
        #expect(image.transport == .dockerArchive && image.location == .path("/srv/images/agent.tar") && image.reference == "v3")
        let secured = try #require(configuration.agents.last?.configuration.customJWTAuthorizer)
        #expect(secured.allowedClients == ["0oa1web"])
        #expect(secured.customClaims == [CustomClaimRule(claimName: "groups", match: .contains("support"))])
        #expect(configuration.agents.last?.configuration.requestHeaderAllowlist == ["Authorization"])
        #expect(configuration.logging.level == "debug")
        let agent = try #require(configuration.agents.first)
        #expect(agent.name == "support")
        #expect(agent.configuration.artifact == .endpoint(url: "https://agents.internal:8443/support"))
        #expect(agent.configuration.protocolConfiguration.serverProtocol == .mcp)
        #expect(agent.configuration.lifecycle == LifecycleConfiguration(idleRuntimeSessionTimeout: 300, maxLifetime: 3600))
        #expect(agent.configuration.environmentVariables == ["MODE": "prod"])
        #expect(agent.tags == ["team": "support"])
    }

    @Test("sandbox: a default driver, other drivers for named agents, and the microVM snapshot settings")
    func sandboxDrivers() throws {
        let configuration = try ConfigurationFile.parse(
            """
            sandbox:
              driver: bubblewrap
              agentDrivers: {untrusted: microvm, trusted: bubblewrap}
              microvm: {vcpus: 1, acceleration: tcg, snapshots: false, maxSnapshots: 3}
            """
        )
        #expect(configuration.sandbox.driver == .bubblewrap)
        #expect(configuration.sandbox.agentDrivers == ["untrusted": .microvm, "trusted": .bubblewrap])
        #expect(configuration.sandbox.microvm == MicroVMConfiguration(vcpus: 1, acceleration: .tcg, snapshots: false, maxSnapshots: 3))
        let defaults = try ConfigurationFile.parse("sandbox: {driver: microvm}").sandbox.microvm
        #expect(defaults.snapshots && defaults.maxSnapshots == 8, "VMs are restored from snapshots unless told otherwise")
        // A runtime's name buys more isolation for anyone, less only for runtimes the file declares.
        #expect(configuration.sandbox.agentDriver(forRuntimeNamed: "untrusted", declared: false) == .microvm)
        #expect(configuration.sandbox.agentDriver(forRuntimeNamed: "other", declared: true) == nil)
        let vmsByDefault = try ConfigurationFile.parse("sandbox: {driver: microvm, agentDrivers: {fast: bubblewrap}}").sandbox
        #expect(vmsByDefault.agentDriver(forRuntimeNamed: "fast", declared: true) == .bubblewrap)
        #expect(vmsByDefault.agentDriver(forRuntimeNamed: "fast", declared: false) == nil, "an API-created runtime named fast stays in a VM")
    }

    @Test("an empty file means defaults; mistakes are reported with the key at fault")
    func errors() throws {
        let defaults = try ConfigurationFile.parse("")
        #expect(defaults == GatewayConfiguration())
        let cases: [(String, String)] = [
            ("server:\n  listn: 1.2.3.4:80\n", "server.listn"),
            ("server:\n  listen: nowhere\n", "HOST:PORT"),
            ("resources:\n  accountId: '12'\n", "12 digits"),
            ("agents:\n  - name: a\n    endpoint: http://x\n  - name: a\n    endpoint: http://y\n", "declared twice"),
            ("agents:\n  - name: a\n    endpoint: ftp://x\n", "agents[a].endpoint"),
            ("agents:\n  - name: a\n", "endpoint"),
            ("agents:\n  - name: a\n    image: oci:relative/layout\n", "agents[a].image"),
            ("sandbox:\n  driver: process\n", "WITHOUT ANY ISOLATION"),
            ("sandbox:\n  agentDrivers: {untrusted: process}\n", "sandbox.agentDrivers.untrusted must be bubblewrap or microvm"),
            ("sandbox:\n  agentDrivers: {\"not a name\": microvm}\n", "is not an agent runtime name"),
            ("sandbox:\n  driver: none\n  agentDrivers: {untrusted: microvm}\n", "needs sandbox.driver bubblewrap or microvm"),
            ("sandbox:\n  microvm: {maxSnapshots: 0}\n", "sandbox.microvm.maxSnapshots must be between 1 and 256"),
            ("agents:\n  - name: a\n    code: {path: /srv/a, entryPoint: [main.py]}\n    egress: [api.example.com]\n", "agents[a].egress"),
            ("agents:\n  - name: a\n    image: oci:/srv/a\n    endpoint: http://x\n", "exactly one of endpoint"),
            ("agents:\n  - name: a\n    endpoint: http://x\n    requestHeaderAllowlist: [Host]\n", "reserved"),
            ("logging:\n  level: loud\n", "logging.level"),
            ("tracing:\n  endpoint: ftp://collector\n", "tracing.endpoint must be an http:// or https:// URL"),
            ("tracing:\n  endpoint: https://user:secret@collector/v1/traces\n", "without credentials"),
            ("tracing:\n  sampleRatio: 2\n", "tracing.sampleRatio must be between 0 and 1"),
            ("tracing:\n  protocol: grpc\n", "tracing.protocol"),
            ("tracing:\n  exportDelaySeconds: 0\n", "tracing.exportDelaySeconds"),
            ("store:\n  url: postgres://db\n", "unsupported store"),
            ("limits:\n  maxPayloadBytes: many\n", "limits.maxPayloadBytes"),
            ("limits:\n  maxPayloadBytes: 4096\n  maxMcpRequestBytes: 8192\n", "maxMcpRequestBytes must be between 1024 and maxPayloadBytes"),
            ("policies:\n  recordAllowed: some\n", "policies.recordAllowed"),
            ("policies:\n  reloadIntervalSeconds: 0.01\n", "reloadIntervalSeconds must be 0 (off) or between 0.1 and 3600"),
            ("policies:\n  decisionRetentionDays: 0\n", "decisionRetentionDays must be between 1 and 3650"),
            ("policies:\n  dir: x\n", "policies.dir"),
            ("auth:\n  issuers:\n    - name: x\n      profile: okta\n", "set discoveryUrl, or issuer and jwksUri"),
            ("auth:\n  issuers:\n    - name: x\n      discoveryUrl: http://idp.example.com/.well-known/openid-configuration\n", "must be an https URL"),
            ("auth:\n  issuers:\n    - name: x\n      discoveryUrl: https://i/.well-known/openid-configuration\n      algorithms: [HS256]\n", "'HS256' is not supported"),
            ("auth:\n  issuers:\n    - name: x\n      profile: entra\n      discoveryUrl: https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration\n", "multi-tenant Entra issuer needs the tenant ids"),
            ("auth:\n  issuers:\n    - name: x\n      discoveryUrl: https://i/.well-known/openid-configuration\n      administrators: {groups: [a]}\n", "administrators needs audiences or clientIds"),
            ("auth:\n  issuers:\n    - name: Bad Name\n      discoveryUrl: https://i/.well-known/openid-configuration\n", "lowercase letters"),
            ("agents:\n  - name: a\n    endpoint: http://x\n    customJWTAuthorizer: {allowedClients: [x]}\n", "agents[a].customJWTAuthorizer.discoveryUrl"),
        ]
        for (text, expected) in cases {
            do {
                _ = try ConfigurationFile.parse(text, source: "test.yaml")
                Issue.record("accepted: \(text)")
            } catch let error as ConfigurationError {
                #expect(error.description.contains(expected), "\(error.description)")
                #expect(error.description.hasPrefix("test.yaml: "))
            }
        }
    }

    @Test("declared agents are created, versioned when changed, and removed when no longer declared")
    func reconciliation() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        func agent(_ name: String, _ url: String) -> DeclaredAgent {
            DeclaredAgent(name: name, configuration: AgentRuntimeConfiguration(artifact: .endpoint(url: url), roleArn: DeclaredAgent.roleArn))
        }
        func start(_ agents: [DeclaredAgent]) async throws -> Gateway {
            try await Gateway(
                configuration: GatewayConfiguration(
                    store: StoreConfiguration(dataDirectory: directory.path), policies: PolicyConfiguration(directory: shippedPolicies), agents: agents
                ),
                logger: testLogger
            )
        }
        let first = try await start([agent("keep", "http://127.0.0.1:1"), agent("drop", "http://127.0.0.1:2")])
        let keep = try #require(try await first.registry.runtime(named: "keep"))
        #expect(keep.latestVersion == 1)
        #expect(keep.owner == .configuration)
        first.upstream.shutdown()

        let same = try await start([agent("keep", "http://127.0.0.1:1"), agent("drop", "http://127.0.0.1:2")])
        #expect(try await same.registry.runtime(named: "keep")?.latestVersion == 1, "an unchanged declaration makes no version")
        same.upstream.shutdown()

        let second = try await start([agent("keep", "http://127.0.0.1:3"), agent("new", "http://127.0.0.1:4")])
        let kept = try #require(try await second.registry.runtime(named: "keep"))
        #expect(kept.id == keep.id)
        #expect(kept.latestVersion == 2)
        #expect(try await second.registry.version(of: kept, nil).configuration.artifact == .endpoint(url: "http://127.0.0.1:3"))
        #expect(try await second.registry.runtime(named: "drop") == nil)
        #expect(try await second.registry.runtime(named: "new") != nil)
        _ = try await second.registry.create(
            name: "manual", configuration: agent("manual", "http://127.0.0.1:5").configuration, tags: [:], owner: .api
        )
        second.upstream.shutdown()

        await #expect(throws: ConfigurationError.self) {
            _ = try await start([agent("manual", "http://127.0.0.1:6")])
        }
        let third = try await start([])
        #expect(try await third.registry.runtime(named: "manual") != nil, "API-created agents are never removed by the file")
        #expect(try await third.registry.runtime(named: "keep") == nil)
        third.upstream.shutdown()
    }

    @Test("with TLS files the gateway serves HTTPS")
    func https() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let certificate = directory.path + "/cert.pem"
        let key = directory.path + "/key.pem"
        let openssl = try await ExternalProcess.run("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate, "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ])
        try #require(openssl.status == 0, "openssl must be installed: \(openssl.error)")

        try await withTestAgent({ $0.addRecordingInvocations($1) }) { agentURL, recorder in
            try await TestGateway.run(configure: { $0.server.tls = TLSFiles(certificateChain: certificate, privateKey: key) }) { gateway in
                let arn = try await gateway.registerAgent(name: "secure", url: agentURL)
                var tls = TLSConfiguration.makeClientConfiguration()
                tls.trustRoots = .file(certificate)
                let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: HTTPClient.Configuration(tlsConfiguration: tls))
                defer { _ = client.shutdown() }
                var request = HTTPClientRequest(url: "https://127.0.0.1:\(gateway.port)/runtimes/\(PercentEncoding.encodeSegment(arn))/invocations")
                request.method = .POST
                request.headers.add(name: "Authorization", value: "Bearer \(gateway.invokeKey)")
                request.body = .bytes(ByteBuffer(string: "{}"))
                let response = try await client.execute(request, timeout: .seconds(30))
                #expect(response.status == .ok)
                _ = try await response.body.collect(upTo: 1 << 16)
                #expect(recorder.requests.first?.headers[.init("X-Forwarded-Proto")!] == "https")
                try await client.shutdown()

                let plain = try? await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(gateway.port)/ping"), timeout: .seconds(5))
                #expect(plain?.status != .ok, "plain HTTP is not served on a TLS listener")
            }
        }
    }
}
