import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import PortcullisCore
@testable import PortcullisGateway
import Testing

/// Egress of sandboxed agents: nothing without rules; with them, exactly the allowlisted destinations through the
/// sandbox's own CONNECT proxy, never an internal address by name.
@Suite("Egress through the allowlisting CONNECT proxy", .enabled(if: canRunSandboxes, "needs root and bubblewrap (apt-get install bubblewrap)"))
struct EgressTests {
    /// An echo TCP server on 127.0.0.1: the "model provider".
    final class EchoServer: Sendable {
        let channel: any Channel

        init() async throws {
            channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Echo()) }
                }
                .bind(host: "127.0.0.1", port: 0).get()
        }

        var port: Int { channel.localAddress?.port ?? 0 }

        final class Echo: ChannelInboundHandler, Sendable {
            typealias InboundIn = ByteBuffer
            typealias OutboundOut = ByteBuffer
            func channelRead(context: ChannelHandlerContext, data: NIOAny) {
                context.writeAndFlush(data, promise: nil)
            }
        }
    }

    static func probe(name: String, egress: [String]) -> DeclaredAgent {
        var network: [String: JSONValue] = ["networkMode": .string("PUBLIC")]
        if !egress.isEmpty { network["egressAllowlist"] = .array(egress.map { .string($0) }) }
        return DeclaredAgent(
            name: name,
            configuration: AgentRuntimeConfiguration(
                artifact: .code(CodeArtifact(source: .path(SandboxTests.probeAgent), runtime: "PYTHON_3_11", entryPoint: ["main.py"])),
                roleArn: DeclaredAgent.roleArn,
                networkConfiguration: .object(network),
                lifecycle: LifecycleConfiguration(idleRuntimeSessionTimeout: 60, maxLifetime: 600)
            )
        )
    }

    @Test("an agent reaches exactly its allowlisted destinations through its own proxy; a name never leads to an internal address; nothing else gets out")
    func allowlist() async throws {
        let echo = try await EchoServer()
        defer { echo.channel.close(promise: nil) }
        let closedPort = try RefusingPort.free()
        try await TestGateway.run(configure: { configuration in
            configuration.sandbox = SandboxConfiguration(driver: .bubblewrap, memoryMiB: 256, cpus: 0.5, maxProcesses: 64, writableMiB: 16, startTimeoutSeconds: 20)
            configuration.agents = [
                Self.probe(name: "reaching", egress: ["127.0.0.1:\(echo.port)", "localhost:\(echo.port)", "*.portcullis.invalid:443"]),
                Self.probe(name: "isolated", egress: []),
            ]
        }) { gateway in
            let reaching = try #require(try await gateway.gateway.runtimeARN(named: "reaching"))
            let isolated = try #require(try await gateway.gateway.runtimeARN(named: "isolated"))
            let session = SandboxTests.session("e")
            func tunnel(_ target: String, method: String = "CONNECT") async throws -> [String: Any] {
                let answer = try await SandboxTests.probe(gateway, reaching, session: session, ["action": "tunnel", "target": target, "method": method])
                #expect(answer.status == 200, "\(answer.json)")
                return try #require(answer.json["ok"] as? [String: Any], "\(answer.json)")
            }

            let allowed = try await tunnel("127.0.0.1:\(echo.port)")
            #expect(allowed["status"] as? Int == 200)
            #expect(allowed["reply"] as? String == "hello through the tunnel", "the bytes went to the destination and back")

            let unlisted = try await tunnel("127.0.0.1:\(closedPort)")
            #expect(unlisted["status"] as? Int == 403)
            #expect((unlisted["reason"] as? String)?.contains("is not in this agent's egress allowlist") == true, "\(unlisted)")
            let byName = try await tunnel("localhost:\(echo.port)")
            #expect(byName["status"] as? Int == 403, "a listed name that resolves to loopback is refused")
            #expect((byName["reason"] as? String)?.contains("resolves to an internal address") == true, "\(byName)")
            let unresolvable = try await tunnel("nothing.portcullis.invalid:443")
            #expect(unresolvable["status"] as? Int == 502, "allowed, but no such name: \(unresolvable)")
            let plain = try await tunnel("127.0.0.1:\(echo.port)", method: "GET")
            #expect(plain["status"] as? Int == 405)

            // The proxy is the only way out, and only the sandbox that owns it can reach it.
            let direct = try await SandboxTests.probe(gateway, reaching, session: session, ["action": "connect", "host": "127.0.0.1", "port": echo.port])
            #expect(direct.json["error"] as? String == "ECONNREFUSED", "\(direct.json)")
            let environment = try await SandboxTests.probe(gateway, isolated, session: SandboxTests.session("n"), ["action": "echo", "variable": "HTTPS_PROXY"])
            #expect(environment.json["environment"] is NSNull, "no proxy without rules: \(environment.json)")
            let noProxy = try await SandboxTests.probe(gateway, isolated, session: SandboxTests.session("n"), ["action": "connect", "host": "127.0.0.1", "port": 3128])
            #expect(noProxy.json["error"] as? String == "ECONNREFUSED", "another sandbox cannot reach this one's proxy: \(noProxy.json)")

            // An allowlist that does not parse is refused by the control plane, naming the member.
            let refused = try await gateway.send(
                .PUT, "\(gateway.baseURL)/runtimes/",
                body: try ControlPlaneTests.createBody(
                    name: "bad_egress", url: "http://127.0.0.1:9",
                    extra: ["networkConfiguration": ["networkMode": "PUBLIC", "egressAllowlist": ["api.example.com"]]]
                ),
                key: gateway.adminKey
            )
            #expect(refused.status == 400)
            #expect(refused.body.contains("networkConfiguration.egressAllowlist"), "\(refused.body)")
        }
    }
}
