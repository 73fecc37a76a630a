import HTTPTypes
public import HummingbirdCore
public import Logging
public import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket
import PortcullisCore

/// The gateway's connection setup: HTTP/1.1 with a WebSocket upgrade decided by the gateway itself.
///
/// Unlike Hummingbird's stock WebSocket channel, a refused upgrade is not answered with a bare 400: the request
/// continues to the router, which answers with the AgentCore error the admission produced (401, 403, 404, 424…).
/// A connection must finish its first request head within the header timeout; afterwards Hummingbird's idle
/// timeout applies between requests.
public struct GatewayChannel: ServerChildChannel, HTTPChannelHandler {
    enum Negotiated: Sendable {
        case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        case webSocket(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, WebSocketRelayPlan)
        /// An upgrade request that was refused. NIO's upgrader consumes such a request, so it is answered here
        /// rather than by the router.
        case refusedUpgrade(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, AgentCoreError)
    }

    public struct Value: ServerChildChannelValue {
        let negotiated: EventLoopFuture<Negotiated>
        public let channel: any Channel
    }

    struct Settings: Sendable {
        var isTLS: Bool
        var maxBodyBytes: Int
        var maxHeaderBytes: Int
        var idleTimeout: Duration
        var headerTimeout: TimeAmount
        var webSocketMaxFrameBytes: Int
    }

    public let responder: HTTPChannelHandler.Responder
    let settings: Settings
    let connections: ConnectionRegistry
    let webSocketGate: WebSocketGate
    let relay: WebSocketRelay

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let connection = connections.register(channel)
            try channel.pipeline.syncOperations.addHandler(ClientCloseObserver(connection: connection), position: .first)
            let headerDeadline = channel.eventLoop.scheduleTask(in: settings.headerTimeout) {
                channel.close(promise: nil)
            }
            let upgrader = NIOTypedWebSocketServerUpgrader<Negotiated>(
                maxFrameSize: settings.webSocketMaxFrameBytes,
                enableAutomaticErrorHandling: true,
                shouldUpgrade: { [webSocketGate] channel, head in
                    headerDeadline.cancel()
                    let promise = channel.eventLoop.makePromise(of: HTTPHeaders?.self)
                    promise.completeWithTask {
                        let outcome: ClientConnection.UpgradeOutcome
                        if let request = try? HTTPRequest(head, secure: settings.isTLS, splitCookie: false),
                            let evaluated = await webSocketGate.evaluate(request, channel: channel)
                        {
                            outcome = evaluated
                        } else {
                            outcome = .refused(
                                AgentCoreError(.unknownOperation, "WebSocket upgrades are served at /runtimes/{agentRuntimeArn}/ws")
                            )
                        }
                        connection.recordUpgradeOutcome(outcome)
                        guard case .accepted(let plan) = outcome else { return nil }
                        return plan.responseHeaders
                    }
                    return promise.futureResult
                },
                upgradePipelineHandler: { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        guard case .accepted(let plan) = connection.takeUpgradeOutcome() else {
                            throw ChannelError.inappropriateOperationForState
                        }
                        channel.pipeline.syncOperations.removeHandler(name: HTTPParseErrorHandler.name, promise: nil)
                        let asyncChannel = try NIOAsyncChannel<WebSocketFrame, WebSocketFrame>(wrappingChannelSynchronously: channel)
                        return .webSocket(asyncChannel, plan)
                    }
                }
            )
            let upgradeConfiguration = NIOTypedHTTPServerUpgradeConfiguration<Negotiated>(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    headerDeadline.cancel()
                    return channel.eventLoop.makeCompletedFuture {
                        let operations = channel.pipeline.syncOperations
                        try operations.addHandler(HTTP1ToHTTPServerCodec(secure: settings.isTLS))
                        try operations.addHandler(RequestAdmissionHandler(maxBodyBytes: settings.maxBodyBytes))
                        try operations.addHandler(HTTPConnectionStateHandler(idleTimeout: settings.idleTimeout, logger: logger))
                        let asyncChannel = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel,
                            configuration: .init(isOutboundHalfClosureEnabled: true)
                        )
                        if case .refused(let error) = connection.takeUpgradeOutcome() {
                            return .refusedUpgrade(asyncChannel, error)
                        }
                        return .http(asyncChannel)
                    }
                }
            )
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration(upgradeConfiguration: upgradeConfiguration)
            configuration.enablePipelining = false
            configuration.enableErrorHandling = false
            configuration.enableResponseHeaderValidation = false
            configuration.decoderConfiguration.maxHeaderListSize = settings.maxHeaderBytes
            configuration.decoderConfiguration.maxHeaderFieldSize = settings.maxHeaderBytes
            let negotiated = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
            try channel.pipeline.syncOperations.addHandler(HTTPParseErrorHandler(), name: HTTPParseErrorHandler.name)
            return Value(negotiated: negotiated, channel: channel)
        }
    }

    public func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.negotiated.get() {
            case .http(let asyncChannel):
                await handleHTTP(asyncChannel: asyncChannel, logger: logger)
            case .webSocket(let asyncChannel, let plan):
                await relay.run(client: asyncChannel, plan: plan)
            case .refusedUpgrade(let asyncChannel, let error):
                try await asyncChannel.executeThenClose { _, outbound in
                    let response = error.envelopeParts(requestId: RequestIdentifier.next(), closeConnection: true)
                    try await outbound.write(contentsOf: [.head(response.head), .body(response.body), .end(nil)])
                }
            }
        } catch {
            logger.debug("connection ended during negotiation", metadata: ["error": "\(error)"])
        }
    }
}
