import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import Synchronization

/// A WebSocket agent built on NIO's frames, for what framework servers hide: it records the close code it
/// receives and answers a close with the same code.
final class RawWebSocketAgent: Sendable {
    let port: Int
    private let channel: any Channel
    private let codes: Mutex<[WebSocketErrorCode]>.Box

    var receivedCloseCodes: [WebSocketErrorCode] { codes.value }

    private init(port: Int, channel: any Channel, codes: Mutex<[WebSocketErrorCode]>.Box) {
        self.port = port
        self.channel = channel
        self.codes = codes
    }

    static func start() async throws -> RawWebSocketAgent {
        let codes = Mutex<[WebSocketErrorCode]>.Box()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                let upgrader = NIOWebSocketServerUpgrader(
                    shouldUpgrade: { channel, _ in channel.eventLoop.makeSucceededFuture(HTTPHeaders()) },
                    upgradePipelineHandler: { channel, _ in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(CloseEchoHandler(codes: codes))
                        }
                    }
                )
                return channel.pipeline.configureHTTPServerPipeline(
                    withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in })
                )
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return RawWebSocketAgent(port: channel.localAddress?.port ?? 0, channel: channel, codes: codes)
    }

    func stop() { channel.close(promise: nil) }

    private final class CloseEchoHandler: ChannelInboundHandler {
        typealias InboundIn = WebSocketFrame
        typealias OutboundOut = WebSocketFrame
        let codes: Mutex<[WebSocketErrorCode]>.Box

        init(codes: Mutex<[WebSocketErrorCode]>.Box) { self.codes = codes }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = unwrapInboundIn(data)
            guard frame.opcode == .connectionClose else { return }
            var payload = frame.unmaskedData
            let code = payload.readWebSocketErrorCode() ?? .normalClosure
            codes.append(code)
            var reply = ByteBuffer()
            reply.write(webSocketErrorCode: code)
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: reply))).whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }
}

extension Mutex where Value == [WebSocketErrorCode] {
    final class Box: Sendable {
        private let storage = Mutex<[WebSocketErrorCode]>([])
        func append(_ code: WebSocketErrorCode) { storage.withLock { $0.append(code) } }
        var value: [WebSocketErrorCode] { storage.withLock { $0 } }
    }
}
