import ArgumentParser
import EchoAgent
import Foundation
import Hummingbird
import Logging
import PortcullisCore
import PortcullisGateway
import PortcullisIdentity
import PortcullisStore
import ServiceLifecycle

/// `portcullis dev`: the one-command try-out. Embedded SQLite in the data directory, the example echo agent
/// registered as `echo` (API keys, SigV4) and `echo_jwt` (tokens), a development identity provider, an admin API
/// key and access key, a bearer token, and `DIR/dev.json` describing all of it.
struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Run a development gateway with the example echo agent, a development identity provider, keys and a token, described in DIR/dev.json."
    )

    @Option(name: .long, help: "Address to listen on, HOST:PORT (port 0 picks a free one).")
    var listen: String = "127.0.0.1:8080"

    @Option(name: .long, help: "Data directory for the database and dev.json.")
    var data: String = ".portcullis"

    @Option(name: .long, help: "The Cedar policy directory (reloaded as it changes).")
    var policies: String = PolicyConfiguration().directory

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    @Option(name: .long, help: "The example code agents to deploy in sandboxes (needs root and bubblewrap); empty for none.")
    var examples: String = "examples/agents"

    @Option(name: .long, help: "A directory of wheels pip installs the examples' requirements from, instead of PyPI.")
    var wheels: String?

    func run() async throws {
        var address = try ListenAddress(parsing: listen)
        if address.port == 0 {
            // The development identity provider's issuer names the gateway's URL, so the port is fixed up front.
            address.port = try ReservedPort(host: address.host.contains(":") ? "127.0.0.1" : address.host).port
        }
        let logger = LoggingSetup.logger(level: logLevel)
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let stateFile = URL(fileURLWithPath: data).appendingPathComponent("dev.json")
        let host = address.host == "0.0.0.0" || address.host == "::" ? "127.0.0.1" : address.host
        let endpoint = "http://\(host.contains(":") ? "[\(host)]" : host):\(address.port)"
        let development = DevelopmentSettings(
            issuer: endpoint + DevelopmentSettings.path,
            keyFile: data + "/dev-idp-key.pem",
            webClientSecret: try Self.webClientSecret(file: data + "/dev-idp-client-secret")
        )

        try await withThrowingTaskGroup(of: Void.self) { group in
            let (ports, portContinuation) = AsyncStream<Int>.makeStream()
            let echo = EchoAgent.makeApplication(host: "127.0.0.1", port: 0, logger: logger) { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            }
            group.addTask {
                try await ServiceGroup(services: [echo], logger: logger).run()
            }
            var portIterator = ports.makeAsyncIterator()
            guard let echoPort = await portIterator.next(), echoPort > 0 else {
                throw ValidationError("The echo agent could not start")
            }

            var codeAgents = try exampleAgents()
            var configuration = GatewayConfiguration(
                server: ServerConfiguration(listen: address),
                store: StoreConfiguration(dataDirectory: data),
                auth: AuthConfiguration(issuers: [development.issuerConfiguration(clientSecretFile: data + "/dev-idp-client-secret")]),
                policies: PolicyConfiguration(directory: policies),
                sandbox: SandboxConfiguration(driver: codeAgents.isEmpty ? .none : .bubblewrap),
                artifacts: ArtifactsConfiguration(pip: wheels.map { PipConfiguration(findLinks: [$0], noIndex: true) } ?? PipConfiguration()),
                agents: Self.agents(echoURL: "http://127.0.0.1:\(echoPort)", development: development) + codeAgents,
                development: development
            )
            if !codeAgents.isEmpty {
                logger.notice("deploying the example code agents (the first start installs their requirements with pip)", metadata: ["examples": "\(examples)"])
            }
            let keyDirectory = configuration.keyRing.resolvedDirectory(store: configuration.store)
            if try KeyRing.load(directory: keyDirectory, environment: [:]).isSealed {
                try KeyRing.generateKey(in: keyDirectory)
            }
            let gateway: Gateway
            do {
                gateway = try await Gateway(configuration: configuration, logger: logger)
            } catch where !codeAgents.isEmpty {
                // The examples are extras: without them (pip could not reach its index, say) dev still runs.
                logger.warning("the example code agents could not be deployed; starting without them", metadata: ["error": "\(error)"])
                codeAgents = []
                configuration.agents = Self.agents(echoURL: "http://127.0.0.1:\(echoPort)", development: development)
                configuration.sandbox.driver = .none
                gateway = try await Gateway(configuration: configuration, logger: logger)
            }
            let deployedAgents = codeAgents
            let apiKey = try await Self.developmentKey(gateway: gateway, stateFile: stateFile)
            let accessKey = try await Self.developmentAccessKey(gateway: gateway, stateFile: stateFile)
            let bearerToken = try gateway.developmentToken(user: "alice", lifetime: 12 * 3600) ?? ""
            guard let echoARN = try await gateway.runtimeARN(named: "echo"), let jwtARN = try await gateway.runtimeARN(named: "echo_jwt") else {
                throw ValidationError("The example agents were not registered")
            }
            var agentARNs: [String: JSONValue] = ["echo": .string(echoARN), "echo_jwt": .string(jwtARN)]
            for agent in deployedAgents {
                if let arn = try await gateway.runtimeARN(named: agent.name) { agentARNs[agent.name] = .string(arn) }
            }
            let resources = configuration.resources
            let invokeURL = "\(endpoint)/runtimes/\(PercentEncoding.encodeSegment(echoARN))/invocations"
            let state: JSONValue = .object([
                "endpoint": .string(endpoint),
                "agentRuntimeArn": .string(echoARN),
                "agentRuntimeId": .string(String(echoARN.split(separator: "/").last ?? "")),
                "invokeUrl": .string(invokeURL),
                "apiKey": .string(apiKey.key),
                "apiKeyId": .string(apiKey.id),
                "adminAccessKeyId": .string(accessKey.id),
                "adminSecretAccessKey": .string(accessKey.secret),
                "issuer": .string(development.issuer),
                "bearerToken": .string(bearerToken),
                "bearerTokenUser": .string("alice"),
                "signInUrl": .string(endpoint + "/auth/login?issuer=dev"),
                "consoleUrl": .string(endpoint + "/console"),
                "region": .string(resources.region),
                "accountId": .string(resources.accountId),
                "agents": .object(agentARNs),
            ])
            let app = try gateway.makeApplication { _ in
                do {
                    try Self.write(state, to: stateFile)
                } catch {
                    logger.error("could not write dev.json", metadata: ["error": "\(error)"])
                }
                print(
                    """

                    Portcullis dev gateway on \(endpoint)   (details in \(stateFile.path))
                    Agent 'echo' (API keys, SigV4): \(echoARN)
                    Agent 'echo_jwt' (tokens from the development IdP, \(development.issuer)): \(jwtARN)
                    \(deployedAgents.isEmpty ? "No example code agents (\(codeAgentsNote))" : "Example code agents in sandboxes: \(deployedAgents.map(\.name).sorted().joined(separator: ", ")) (ARNs in dev.json)")
                    Invoke it:

                      curl -sS -X POST '\(invokeURL)' \\
                        -H 'Authorization: Bearer \(apiKey.key)' \\
                        -H 'Content-Type: application/json' \\
                        -d '{"prompt": "hello"}'

                    Stream: -d '{"stream": true, "count": 3}' -N.   Sign in: \(endpoint)/auth/login?issuer=dev
                    Admin console: \(endpoint)/console (sign in as Bob, an administrator of the development IdP)
                    From a terminal: portcullis login --gateway \(endpoint) --issuer dev.   Stop with Ctrl-C.
                    Policies: \(policies)/ (Cedar; edits apply within 2 s; portcullis policy explain <x-amzn-RequestId> says why a call was denied)

                    """
                )
                fflush(nil)
            }
            try await app.runService()
            group.cancelAll()
        }
    }

    /// Why no example code agents run, for the banner.
    private var codeAgentsNote: String {
        if examples.isEmpty { return "--examples is empty" }
        if !Self.canRunSandboxes { return "they run in sandboxes, which need root and bubblewrap" }
        return "\(examples) has none"
    }

    private static var canRunSandboxes: Bool {
        geteuid() == 0 && FileManager.default.isExecutableFile(atPath: SandboxConfiguration().bubblewrapPath)
    }

    /// The example agents under `--examples`, deployed as code in sandboxes: `http_agent` (the `bedrock-agentcore`
    /// SDK), `mcp_server` (the `mcp` SDK) and `a2a_agent` (`a2a-sdk`). None without sandboxes.
    func exampleAgents() throws -> [DeclaredAgent] {
        guard !examples.isEmpty, Self.canRunSandboxes else { return [] }
        let root = URL(fileURLWithPath: examples).standardizedFileURL.path
        let kinds: [(name: String, serverProtocol: ServerProtocol, description: String)] = [
            ("http_agent", .http, "The bedrock-agentcore SDK example: echoes, streams, tracks background work"),
            ("mcp_server", .mcp, "The mcp SDK example: FastMCP tools add and echo over stateless Streamable HTTP"),
            ("a2a_agent", .a2a, "The a2a-sdk example: answers each message with a task echoing its text"),
        ]
        return kinds.filter { FileManager.default.fileExists(atPath: "\(root)/\($0.name)/main.py") }.map { kind in
            DeclaredAgent(
                name: kind.name,
                configuration: AgentRuntimeConfiguration(
                    artifact: .code(CodeArtifact(source: .path("\(root)/\(kind.name)"), runtime: "PYTHON_3_11", entryPoint: ["main.py"])),
                    roleArn: DeclaredAgent.roleArn,
                    description: kind.description,
                    protocolConfiguration: ProtocolConfiguration(serverProtocol: kind.serverProtocol),
                    requestHeaderAllowlist: ["X-Tenant-Id"]
                )
            )
        }
    }

    /// `echo` for API keys and SigV4, `echo_jwt` for the development IdP's tokens.
    static func agents(echoURL: String, development: DevelopmentSettings) -> [DeclaredAgent] {
        [
            DeclaredAgent(
                name: "echo",
                configuration: AgentRuntimeConfiguration(
                    artifact: .endpoint(url: echoURL),
                    roleArn: DeclaredAgent.roleArn,
                    description: "The example echo agent of portcullis dev",
                    requestHeaderAllowlist: ["X-Tenant-Id"]
                )
            ),
            DeclaredAgent(
                name: "echo_jwt",
                configuration: AgentRuntimeConfiguration(
                    artifact: .endpoint(url: echoURL),
                    roleArn: DeclaredAgent.roleArn,
                    description: "The echo agent behind a customJWTAuthorizer that trusts the development identity provider",
                    requestHeaderAllowlist: ["X-Tenant-Id"],
                    authorizerConfiguration: .object([
                        "customJWTAuthorizer": CustomJWTAuthorizer(
                            discoveryURL: development.issuer + CustomJWTAuthorizer.discoverySuffix,
                            allowedClients: [DevelopmentSettings.cliClientId, DevelopmentSettings.webClientId],
                            allowedScopes: ["agents:invoke"]
                        ).json
                    ])
                )
            ),
        ]
    }

    /// The web client's secret, created once (0600) in the data directory.
    static func webClientSecret(file: String) throws -> String {
        if let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8), text.count >= 32 {
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let secret = SecureRandom.alphanumeric(40)
        guard FileManager.default.createFile(atPath: file, contents: Data(secret.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("Cannot write \(file)")
        }
        return secret
    }

    /// The API key remembered in dev.json if it still works, else a new admin key for all agents.
    static func developmentKey(gateway: Gateway, stateFile: URL) async throws -> (id: String, key: String) {
        if let data = try? Data(contentsOf: stateFile),
            let state = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let key = state["apiKey"] as? String, let id = APIKeyFormat.keyId(of: key),
            let principal = try? await gateway.apiKeyAuthentication.authenticate(.apiKey(key)),
            principal.isAdministrator, principal.agentScope == .all
        {
            return (id, key)
        }
        let issued = try await gateway.apiKeys.issue(name: "dev", agents: ["*"], administrator: true, expiresAt: nil)
        return (issued.record.id, issued.key)
    }

    /// The SigV4 access key remembered in dev.json if it is still active, else a new admin key for all agents that
    /// may act for users.
    static func developmentAccessKey(gateway: Gateway, stateFile: URL) async throws -> (id: String, secret: String) {
        if let data = try? Data(contentsOf: stateFile),
            let state = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let id = state["adminAccessKeyId"] as? String, let secret = state["adminSecretAccessKey"] as? String,
            let record = try await gateway.store.accessKey(id: id), record.isUsable(at: Date()), record.isAdministrator,
            let sealed = try? gateway.keyRing.open(record.sealedSecret, context: AccessKeyRecord.sealingContext(id: id)),
            sealed == Array(secret.utf8)
        {
            return (id, secret)
        }
        let issued = try await gateway.accessKeys.issue(name: "dev", agents: ["*"], administrator: true, actForUsers: true, expiresAt: nil)
        return (issued.record.id, issued.secret)
    }

    static func write(_ state: JSONValue, to file: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(state).write(to: file, options: .atomic)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path)
    }
}
