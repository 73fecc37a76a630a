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
/// registered as `echo`, an admin API key, and `DIR/dev.json` describing all of it.
struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Run a development gateway with the example echo agent and an API key, described in DIR/dev.json."
    )

    @Option(name: .long, help: "Address to listen on, HOST:PORT (port 0 picks a free one).")
    var listen: String = "127.0.0.1:8080"

    @Option(name: .long, help: "Data directory for the database and dev.json.")
    var data: String = ".portcullis"

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    func run() async throws {
        let address = try ListenAddress(parsing: listen)
        let logger = LoggingSetup.logger(level: logLevel)
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let stateFile = URL(fileURLWithPath: data).appendingPathComponent("dev.json")

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

            let configuration = GatewayConfiguration(
                server: ServerConfiguration(listen: address),
                store: StoreConfiguration(dataDirectory: data),
                agents: [
                    DeclaredAgent(
                        name: "echo",
                        configuration: AgentRuntimeConfiguration(
                            artifact: .endpoint(url: "http://127.0.0.1:\(echoPort)"),
                            roleArn: DeclaredAgent.roleArn,
                            description: "The example echo agent of portcullis dev",
                            requestHeaderAllowlist: ["X-Tenant-Id"]
                        )
                    )
                ]
            )
            let keyDirectory = configuration.keyRing.resolvedDirectory(store: configuration.store)
            if try KeyRing.load(directory: keyDirectory, environment: [:]).isSealed {
                try KeyRing.generateKey(in: keyDirectory)
            }
            let gateway = try await Gateway(configuration: configuration, logger: logger)
            let apiKey = try await Self.developmentKey(gateway: gateway, stateFile: stateFile)
            let accessKey = try await Self.developmentAccessKey(gateway: gateway, stateFile: stateFile)
            guard let echoARN = try await gateway.runtimeARN(named: "echo") else {
                throw ValidationError("The echo agent was not registered")
            }
            let resources = configuration.resources
            let app = try gateway.makeApplication { channel in
                let port = channel.localAddress?.port ?? address.port
                let host = address.host == "0.0.0.0" || address.host == "::" ? "127.0.0.1" : address.host
                let endpoint = "http://\(host.contains(":") ? "[\(host)]" : host):\(port)"
                let invokeURL = "\(endpoint)/runtimes/\(PercentEncoding.encodeSegment(echoARN))/invocations"
                let state: [String: Any] = [
                    "endpoint": endpoint,
                    "agentRuntimeArn": echoARN,
                    "agentRuntimeId": String(echoARN.split(separator: "/").last ?? ""),
                    "invokeUrl": invokeURL,
                    "apiKey": apiKey.key,
                    "apiKeyId": apiKey.id,
                    "adminAccessKeyId": accessKey.id,
                    "adminSecretAccessKey": accessKey.secret,
                    "region": resources.region,
                    "accountId": resources.accountId,
                    "agents": ["echo": echoARN],
                ]
                do {
                    try Self.write(state, to: stateFile)
                } catch {
                    logger.error("could not write dev.json", metadata: ["error": "\(error)"])
                }
                print(
                    """

                    Portcullis dev gateway on \(endpoint)   (details in \(stateFile.path))
                    Agent 'echo': \(echoARN)
                    Invoke it:

                      curl -sS -X POST '\(invokeURL)' \\
                        -H 'Authorization: Bearer \(apiKey.key)' \\
                        -H 'Content-Type: application/json' \\
                        -d '{"prompt": "hello"}'

                    Stream: -d '{"stream": true, "count": 3}' -N.   Stop with Ctrl-C.

                    """
                )
                fflush(nil)
            }
            try await app.runService()
            group.cancelAll()
        }
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

    static func write(_ state: [String: Any], to file: URL) throws {
        let data = try JSONSerialization.data(withJSONObject: state, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try data.write(to: file, options: .atomic)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path)
    }
}
