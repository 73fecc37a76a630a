import NIOCore
import NIOHTTP1

/// One pooled HTTP/1.1 connection to an agent. It carries one exchange at a time; the pool hands it out and takes it
/// back when the exchange ends cleanly.
final class UpstreamConnection: Sendable {
    let channel: any Channel
    let key: UpstreamConnectionPool.Key
    private let handler: NIOLoopBound<UpstreamConnectionHandler>

    init(channel: any Channel, key: UpstreamConnectionPool.Key, handler: UpstreamConnectionHandler) {
        self.channel = channel
        self.key = key
        self.handler = NIOLoopBound(handler, eventLoop: channel.eventLoop)
    }

    var isActive: Bool { channel.isActive }

    /// Sends a request whose body is in memory — head, body and end in one flush — and returns the response once
    /// its head arrived.
    func send(head: HTTPRequestHead, body: ByteBuffer?) -> EventLoopFuture<UpstreamResponse> {
        let promise = channel.eventLoop.makePromise(of: UpstreamResponse.self)
        channel.eventLoop.execute { [handler, channel] in
            guard handler.value.begin(promise: promise) >= 0 else { return }
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            if let body, body.readableBytes > 0 {
                channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil)
            }
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        }
        return promise.futureResult
    }

    /// Starts a request whose body follows in ``write(bodyPart:)`` calls and ``finishBody()``.
    func start(head: HTTPRequestHead) -> EventLoopFuture<UpstreamResponse> {
        let promise = channel.eventLoop.makePromise(of: UpstreamResponse.self)
        channel.eventLoop.execute { [handler, channel] in
            guard handler.value.begin(promise: promise) >= 0 else { return }
            channel.writeAndFlush(HTTPClientRequestPart.head(head), promise: nil)
        }
        return promise.futureResult
    }

    /// Writes one chunk of a streamed body; completes when the socket took it, which is the upload's backpressure.
    func write(bodyPart: ByteBuffer) async throws {
        try await channel.writeAndFlush(HTTPClientRequestPart.body(.byteBuffer(bodyPart)))
    }

    func finishBody() async throws {
        try await channel.writeAndFlush(HTTPClientRequestPart.end(nil))
    }

    /// Wires the handler to this connection and its pool, before any exchange (at once on the loop, else as the next
    /// task, which runs before any exchange scheduled later).
    func attach(onExchangeEnd: @escaping @Sendable (Bool) -> Void) {
        if channel.eventLoop.inEventLoop {
            handler.value.connection = self
            handler.value.onExchangeEnd = onExchangeEnd
            return
        }
        channel.eventLoop.execute { [handler] in
            handler.value.connection = self
            handler.value.onExchangeEnd = onExchangeEnd
        }
    }

    func resumeReading(exchange: Int) {
        channel.eventLoop.execute { [handler] in handler.value.resumeReading(exchange: exchange) }
    }

    func consumerFinished(exchange: Int) {
        channel.eventLoop.execute { [handler] in handler.value.consumerFinished(exchange: exchange) }
    }

    func close() {
        channel.close(promise: nil)
    }
}
