import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import PortcullisCore
import PortcullisSessions

/// Opens the agent side of a WebSocket relay: TCP (and TLS for `https` agents), then the HTTP upgrade to the
/// agent's `/ws`, before the client's upgrade is accepted, so an agent that refuses becomes an error response
/// rather than a WebSocket that closes at once.
struct UpstreamWebSocketConnector: Sendable {
    enum Outcome: Sendable {
        case upgraded(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, subprotocol: String?)
        case refused
    }

    let eventLoopGroup: any EventLoopGroup
    let connectTimeout: TimeAmount
    let handshakeTimeout: TimeAmount
    let maxFrameBytes: Int

    /// Connects to `address` and upgrades `path`.
    /// - Throws: `RuntimeClientError` when the agent is unreachable, slow or refuses the upgrade.
    func connect(to address: UpstreamAddress, path: String, headers: HTTPHeaders) async throws(AgentCoreError) -> (
        NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, subprotocol: String?
    ) {
        let outcome: Outcome
        do {
            let sslContext = address.isTLS ? try NIOSSLContext(configuration: .makeClientConfiguration()) : nil
            let bootstrap = ClientBootstrap(group: eventLoopGroup).connectTimeout(connectTimeout)
            let initializer: @Sendable (any Channel) -> EventLoopFuture<EventLoopFuture<Outcome>> = { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: address.tlsServerName))
                    }
                    let upgrader = NIOTypedWebSocketClientUpgrader<Outcome>(
                        maxFrameSize: maxFrameBytes,
                        enableAutomaticErrorHandling: true,
                        upgradePipelineHandler: { channel, response in
                            channel.eventLoop.makeCompletedFuture {
                                let asyncChannel = try NIOAsyncChannel<WebSocketFrame, WebSocketFrame>(wrappingChannelSynchronously: channel)
                                return .upgraded(asyncChannel, subprotocol: response.headers.first(name: "Sec-WebSocket-Protocol"))
                            }
                        }
                    )
                    var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
                    head.headers = headers
                    head.headers.replaceOrAdd(name: "Host", value: address.hostHeader)
                    let configuration = NIOTypedHTTPClientUpgradeConfiguration<Outcome>(
                        upgradeRequestHead: head,
                        upgraders: [upgrader],
                        notUpgradingCompletionHandler: { channel in
                            channel.close(promise: nil)
                            return channel.eventLoop.makeSucceededFuture(.refused)
                        }
                    )
                    let timeout = channel.eventLoop.scheduleTask(in: handshakeTimeout) { channel.close(promise: nil) }
                    let result = try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(
                        configuration: .init(upgradeConfiguration: configuration)
                    )
                    result.whenComplete { _ in timeout.cancel() }
                    return result
                }
            }
            let upgrade: EventLoopFuture<Outcome>
            if let sandbox = address.sandbox {
                let socket = try await sandbox.connect(port: address.port, timeout: .nanoseconds(connectTimeout.nanoseconds))
                upgrade = try await bootstrap.withConnectedSocket(socket, channelInitializer: initializer)
            } else {
                upgrade = try await bootstrap.connect(host: address.host, port: address.port, channelInitializer: initializer)
            }
            outcome = try await upgrade.get()
        } catch {
            // The kind of failure (refused, timed out, TLS) is the agent operator's clue; it names no address.
            throw AgentCoreError(.runtimeClientError, "The agent runtime is not reachable for WebSocket connections (\(Self.failureKind(error)))")
        }
        switch outcome {
        case .upgraded(let channel, let subprotocol):
            return (channel, subprotocol)
        case .refused:
            throw AgentCoreError(.runtimeClientError, "The agent runtime refused the WebSocket upgrade")
        }
    }

    static func failureKind(_ error: any Error) -> String {
        switch error {
        case is ChannelError: return "connection: \(error)"
        case let error as IOError: return "connection: \(error.errnoCode == ECONNREFUSED ? "refused" : "error \(error.errnoCode)")"
        case is NIOSSLError: return "TLS"
        case let error as SandboxError: return "sandbox: \(error.kind)"
        default: return String(describing: type(of: error))
        }
    }
}
