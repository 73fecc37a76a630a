import Foundation
import Logging
import NIOCore
import NIOPosix
public import PortcullisCore

/// The allowlisting HTTP CONNECT proxy of one sandbox: it listens on `127.0.0.1:3128` inside the sandbox's network
/// namespace (so only that sandbox can reach it), and opens a TCP tunnel from the host to a destination only when
/// one of the agent's ``EgressRule``s allows it. Agents find it through `HTTPS_PROXY`/`HTTP_PROXY`, which HTTP
/// clients (requests, httpx, boto3, the OpenAI and Anthropic SDKs) honour for `https://` URLs.
///
/// Only `CONNECT` is served: TLS goes end to end and the gateway never sees what passes. A destination named by a
/// host is resolved by the gateway and refused when any of its addresses is internal (loopback, private,
/// link-local, …: see ``IPAddressClassifier``), so DNS cannot lead an agent to the host's services or the cloud's
/// metadata endpoint. Tunnels are bounded in number, in connect time and in idle time.
final class EgressProxy: Sendable {
    /// The port the proxy has inside every sandbox that may reach out.
    static let port = 3128
    static let maxTunnels = 64
    static let connectTimeout: TimeAmount = .seconds(10)
    static let idleTimeout: TimeAmount = .minutes(10)
    static let maxRequestHeadBytes = 8192

    private let listener: any Channel
    private let tunnels: ChannelSet

    private init(listener: any Channel, tunnels: ChannelSet) {
        self.listener = listener
        self.tunnels = tunnels
    }

    /// Serves the proxy on `descriptor`, a socket listening inside the sandbox (``Sandbox/listen(port:)``).
    static func start(on descriptor: Int32, rules: [EgressRule], sandboxId: String, logger: Logger) async throws -> EgressProxy {
        let tunnels = ChannelSet(limit: maxTunnels)
        let policy = Policy(rules: rules, sandboxId: sandboxId, logger: logger)
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelOption(.allowRemoteHalfClosure, value: false)
            .childChannelInitializer { channel in
                guard tunnels.admit(channel) else {
                    return channel.close()
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ConnectRequestHandler(policy: policy, tunnels: tunnels))
                }
            }
            .withBoundSocket(descriptor)
            .get()
        return EgressProxy(listener: listener, tunnels: tunnels)
    }

    /// Stops listening and cuts every tunnel.
    func close() async {
        try? await listener.close()
        await tunnels.closeAll()
    }

    /// The destinations and how they are decided.
    struct Policy: Sendable {
        let rules: [EgressRule]
        let sandboxId: String
        let logger: Logger
    }
}

/// Where agents find the egress proxy inside their sandbox.
public enum EgressProxyAddress {
    public static let port = EgressProxy.port
}
