import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
@testable import PortcullisCore
@testable import PortcullisGateway
import PortcullisIdentity

/// A real gateway on a loopback port with its own SQLite file, plus an admin key and an invoke-only key.
struct TestGateway: Sendable {
    let gateway: Gateway
    let port: Int
    let adminKey: String
    let invokeKey: String

    var baseURL: String { "http://127.0.0.1:\(port)" }
    var names: ResourceNames { gateway.configuration.resources }

    /// Starts a gateway in dev mode — with the development identity provider on its own port — for `body`.
    static func runDevelopment<T: Sendable>(
        clock: any WallClock = SystemWallClock(),
        configure: (inout GatewayConfiguration) -> Void = { _ in },
        _ body: (TestGateway) async throws -> T
    ) async throws -> T {
        let port = try RefusingPort.free()
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let secretFile = directory.path + "/client-secret"
        try "test-client-secret-0123456789abcdefghij".write(toFile: secretFile, atomically: true, encoding: .utf8)
        let development = DevelopmentSettings(
            issuer: "http://127.0.0.1:\(port)\(DevelopmentSettings.path)",
            keyFile: directory.path + "/dev-idp-key.pem",
            webClientSecret: "test-client-secret-0123456789abcdefghij"
        )
        return try await run(clock: clock, configure: { configuration in
            configuration.server.listen = ListenAddress(host: "127.0.0.1", port: port)
            configuration.auth.issuers = [development.issuerConfiguration(clientSecretFile: secretFile)]
            configuration.development = development
            configure(&configuration)
        }, body)
    }

    /// Starts a gateway for the duration of `body`.
    static func run<T: Sendable>(
        clock: any WallClock = SystemWallClock(),
        environment: @escaping @Sendable () -> [String: String] = { ProcessInfo.processInfo.environment },
        configure: (inout GatewayConfiguration) -> Void = { _ in },
        _ body: (TestGateway) async throws -> T
    ) async throws -> T {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        var configuration = GatewayConfiguration(
            server: ServerConfiguration(listen: ListenAddress(host: "127.0.0.1", port: 0)),
            store: StoreConfiguration(dataDirectory: directory.path),
            policies: PolicyConfiguration(directory: shippedPolicies),
            // Sandboxes only where a test asks for them (they need root and bubblewrap).
            sandbox: SandboxConfiguration(driver: .none)
        )
        configure(&configuration)
        // Every test gateway has a key ring in its data directory, as `portcullis dev` does.
        try KeyRing.generateKey(in: configuration.keyRing.resolvedDirectory(store: configuration.store))
        let gateway = try await Gateway(configuration: configuration, logger: testLogger, clock: clock, environment: environment)
        let admin = try await gateway.apiKeys.issue(name: "admin", agents: ["*"], administrator: true, expiresAt: nil)
        let invoker = try await gateway.apiKeys.issue(name: "invoker", agents: ["*"], administrator: false, expiresAt: nil)
        return try await withRunningApplication({ try gateway.makeApplication(onServerRunning: $0) }) { port in
            try await body(TestGateway(gateway: gateway, port: port, adminKey: admin.key, invokeKey: invoker.key))
        }
    }

    /// Registers an endpoint agent directly in the registry and returns its ARN.
    func registerAgent(
        name: String,
        url: String,
        protocol serverProtocol: ServerProtocol = .http,
        allowlist: [String] = [],
        lifecycle: LifecycleConfiguration = LifecycleConfiguration(),
        authorizer: CustomJWTAuthorizer? = nil,
        tags: [String: String] = [:]
    ) async throws -> String {
        let (runtime, _) = try await gateway.registry.create(
            name: name,
            configuration: AgentRuntimeConfiguration(
                artifact: .endpoint(url: url),
                roleArn: "arn:aws:iam::123456789012:role/test",
                protocolConfiguration: ProtocolConfiguration(serverProtocol: serverProtocol),
                lifecycle: lifecycle,
                requestHeaderAllowlist: allowlist,
                authorizerConfiguration: authorizer.map { .object(["customJWTAuthorizer": $0.json]) }
            ),
            tags: tags,
            owner: .api
        )
        return names.runtimeARN(runtimeId: runtime.id)
    }

    func invocationURL(_ arn: String, suffix: String = "/invocations", query: String? = nil) -> String {
        "\(baseURL)/runtimes/\(PercentEncoding.encodeSegment(arn))\(suffix)" + (query.map { "?\($0)" } ?? "")
    }

    /// Sends a request and collects the whole response.
    func send(
        _ method: HTTPMethod,
        _ url: String,
        headers: [(String, String)] = [],
        body: String? = nil,
        key: String?? = .none
    ) async throws -> (status: Int, headers: HTTPHeaders, body: String) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        let credential = key ?? invokeKey
        if let credential {
            request.headers.add(name: "Authorization", value: "Bearer \(credential)")
        }
        for (name, value) in headers {
            request.headers.add(name: name, value: value)
        }
        if let body {
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let collected = try await response.body.collect(upTo: 16 * 1024 * 1024)
        return (Int(response.status.code), response.headers, collected.string)
    }

    /// The decoded JSON object of a response body.
    static func json(_ body: String) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else {
            throw TestFailure("not a JSON object: \(body)")
        }
        return object
    }
}
