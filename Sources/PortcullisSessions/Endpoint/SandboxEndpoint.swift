import Logging
import NIOCore
import PortcullisCore
import NIOHTTP1
import NIOPosix

/// One request an agent made to the gateway's endpoint inside its sandbox.
public struct SandboxEndpointRequest: Sendable {
    public var method: String
    /// The request target as sent (path and query).
    public var target: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// The agent runtime whose sandbox the request came from: the only identity the endpoint vouches for.
    public var runtimeId: String
    public var sandboxId: String

    public init(method: String, target: String, headers: [(name: String, value: String)], body: [UInt8], runtimeId: String, sandboxId: String) {
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
        self.runtimeId = runtimeId
        self.sandboxId = sandboxId
    }
}

public struct SandboxEndpointResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// What answers the requests of a sandbox's endpoint.
public typealias SandboxEndpointHandler = @Sendable (SandboxEndpointRequest) async -> SandboxEndpointResponse

/// The gateway's HTTP endpoint on `127.0.0.1:``port``` inside every sandbox: how an agent reaches the token vault
/// (the `bedrock-agentcore` SDK finds it through `BEDROCK_AGENTCORE_DP_ENDPOINT`) without any network of its own.
/// Only that sandbox can connect to it, so each request is known to come from that sandbox's runtime.
///
/// HTTP/1.1 with keep-alive; bounded in connections, request size and idle time.
final class SandboxEndpoint: SandboxService {
    static let port = AgentRuntimeRules.sandboxEndpointPort
    static let maxConnections = 32
    static let maxBodyBytes = 1 << 20
    static let idleTimeout: TimeAmount = .seconds(60)

    private let listener: any Channel
    private let connections: ChannelSet

    private init(listener: any Channel, connections: ChannelSet) {
        self.listener = listener
        self.connections = connections
    }

    /// Serves on `descriptor`, a socket listening inside the sandbox (``Sandbox/listen(port:)``).
    static func start(on descriptor: Int32, runtimeId: String, sandboxId: String, handler: @escaping SandboxEndpointHandler) async throws -> SandboxEndpoint {
        let connections = ChannelSet(limit: maxConnections)
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                guard connections.admit(channel) else { return channel.close() }
                return channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandlers([
                        IdleStateHandler(allTimeout: idleTimeout),
                        RequestHandler(runtimeId: runtimeId, sandboxId: sandboxId, handler: handler),
                    ])
                }
            }
            .withBoundSocket(descriptor)
            .get()
        return SandboxEndpoint(listener: listener, connections: connections)
    }

    func close() async {
        try? await listener.close()
        await connections.closeAll()
    }

    /// Collects one request at a time, hands it to the handler, writes the answer.
    final class RequestHandler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        private let runtimeId: String
        private let sandboxId: String
        private let handler: SandboxEndpointHandler
        private var head: HTTPRequestHead?
        private var body: [UInt8] = []
        private var tooLarge = false

        init(runtimeId: String, sandboxId: String, handler: @escaping SandboxEndpointHandler) {
            self.runtimeId = runtimeId
            self.sandboxId = sandboxId
            self.handler = handler
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let requestHead):
                head = requestHead
                body = []
                tooLarge = false
            case .body(let chunk):
                guard !tooLarge else { return }
                if body.count + chunk.readableBytes > SandboxEndpoint.maxBodyBytes {
                    tooLarge = true
                    body = []
                } else {
                    body += chunk.readableBytesView
                }
            case .end:
                guard let head else { return }
                self.head = nil
                if tooLarge {
                    respond(context, head: head, SandboxEndpointResponse(status: 413, body: Array("request body too large".utf8)))
                    return
                }
                let request = SandboxEndpointRequest(
                    method: head.method.rawValue, target: head.uri, headers: head.headers.map { ($0.name, $0.value) }, body: body,
                    runtimeId: runtimeId, sandboxId: sandboxId
                )
                body = []
                let handler = self.handler
                let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                // Reading pauses while the handler works, so requests on one connection are answered in order.
                context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
                context.eventLoop.makeFutureWithTask { await handler(request) }.whenComplete { result in
                    let (this, context) = bound.value
                    let response = (try? result.get()) ?? SandboxEndpointResponse(status: 500)
                    this.respond(context, head: head, response)
                    context.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
                }
            }
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if event is IdleStateHandler.IdleStateEvent {
                context.close(promise: nil)
            } else {
                context.fireUserInboundEventTriggered(event)
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }

        private func respond(_ context: ChannelHandlerContext, head request: HTTPRequestHead, _ response: SandboxEndpointResponse) {
            var headers = HTTPHeaders(response.headers.map { ($0.name, $0.value) })
            headers.replaceOrAdd(name: "Content-Length", value: String(response.body.count))
            let keepAlive = request.isKeepAlive && response.status != 413
            if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
            let head = HTTPResponseHead(version: request.version, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            if !response.body.isEmpty {
                context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
            }
            let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if !keepAlive {
                let channel = context.channel
                written.whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }
}

/// Where agents find the gateway's endpoint inside their sandbox.
public enum SandboxEndpointAddress {
    public static let port = SandboxEndpoint.port
    /// The URL agents are given (`BEDROCK_AGENTCORE_DP_ENDPOINT`).
    public static let url = "http://127.0.0.1:\(SandboxEndpoint.port)"
}
