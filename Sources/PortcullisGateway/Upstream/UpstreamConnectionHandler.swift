import NIOCore
import NIOHTTP1

/// The per-connection state machine of an upstream connection, confined to its event loop: one exchange at a time,
/// the response head handed over through a promise, the body through a producer whose backpressure pauses reads.
final class UpstreamConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    private enum State {
        case idle
        case awaitingHead(EventLoopPromise<UpstreamResponse>)
        case streamingBody(UpstreamResponseBody.Producer.Source)
        case closed
    }

    private var state = State.idle
    private var exchange = 0
    private var readPaused = false
    private var readPending = false
    private var responseStarted = false
    /// Whether the request's end went out; a connection whose request was cut short cannot carry another.
    private var requestComplete = false
    private var lastRead = NIODeadline.now()
    private var timeoutTask: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    private let readTimeout: TimeAmount
    /// Called on the event loop when an exchange ends: `true` when the connection can carry another.
    var onExchangeEnd: (@Sendable (Bool) -> Void)?
    weak var connection: UpstreamConnection?

    init(readTimeout: TimeAmount) {
        self.readTimeout = readTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Starts an exchange and returns its number (which the body's delegate quotes back).
    func begin(promise: EventLoopPromise<UpstreamResponse>) -> Int {
        guard case .idle = state, let context, context.channel.isActive else {
            promise.fail(UpstreamError.closed(responseStarted: false))
            return -1
        }
        exchange += 1
        state = .awaitingHead(promise)
        responseStarted = false
        requestComplete = false
        readPaused = false
        lastRead = .now()
        armTimeout(context: context)
        return exchange
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastRead = .now()
        switch unwrapInboundIn(data) {
        case .head(let head):
            // 1xx answers (100 Continue) precede the real response.
            guard head.status.code >= 200 || head.status == .switchingProtocols else { return }
            guard case .awaitingHead(let promise) = state, let connection else { return }
            responseStarted = true
            let produced = UpstreamResponseBody.Producer.makeSequence(
                backPressureStrategy: .init(lowWatermark: 2, highWatermark: 8),
                finishOnDeinit: false,
                delegate: UpstreamBodyDelegate(connection: connection, exchange: exchange)
            )
            state = .streamingBody(produced.source)
            keepAlive = head.isKeepAlive
            promise.succeed(UpstreamResponse(head: head, body: UpstreamResponseBody(producer: produced.sequence)))
        case .body(let buffer):
            guard case .streamingBody(let source) = state else { return }
            if source.yield(buffer) == .stopProducing {
                readPaused = true
            }
        case .end:
            guard case .streamingBody(let source) = state else { return }
            source.finish()
            finishExchange(context: context, reusable: keepAlive && requestComplete)
        }
    }

    private var keepAlive = true

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            requestComplete = true
        }
        context.write(data, promise: promise)
    }

    func read(context: ChannelHandlerContext) {
        if readPaused {
            readPending = true
        } else {
            context.read()
        }
    }

    /// The consumer wants more of the body.
    func resumeReading(exchange: Int) {
        guard exchange == self.exchange, readPaused, let context else { return }
        readPaused = false
        lastRead = .now()
        if readPending {
            readPending = false
            context.read()
        }
    }

    /// The consumer stopped listening. Before the end of the body, the connection cannot be reused.
    func consumerFinished(exchange: Int) {
        guard exchange == self.exchange, case .streamingBody = state, let context else { return }
        fail(UpstreamError.closed(responseStarted: true))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(UpstreamError.closed(responseStarted: responseStarted))
        state = .closed
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error is HTTPParserError ? UpstreamError.malformedResponse : UpstreamError.closed(responseStarted: responseStarted))
        context.close(promise: nil)
    }

    private func fail(_ error: UpstreamError) {
        timeoutTask?.cancel()
        timeoutTask = nil
        switch state {
        case .awaitingHead(let promise):
            state = .closed
            promise.fail(error)
            onExchangeEnd?(false)
        case .streamingBody(let source):
            state = .closed
            source.finish(error)
            onExchangeEnd?(false)
        case .idle:
            state = .closed
        case .closed:
            break
        }
    }

    private func finishExchange(context: ChannelHandlerContext, reusable: Bool) {
        timeoutTask?.cancel()
        timeoutTask = nil
        state = reusable ? .idle : .closed
        readPaused = false
        if readPending {
            readPending = false
            context.read()
        }
        onExchangeEnd?(reusable)
        if !reusable { context.close(promise: nil) }
    }

    /// Checks for silence once per timeout period instead of re-arming a timer on every read.
    private func armTimeout(context: ChannelHandlerContext) {
        timeoutTask?.cancel()
        let deadline = lastRead + readTimeout
        timeoutTask = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
            guard let self, let context = self.context else { return }
            switch self.state {
            case .awaitingHead, .streamingBody:
                if self.readPaused {
                    // The caller is slow, not the agent: silence only counts while the gateway is reading.
                    self.lastRead = .now()
                    self.armTimeout(context: context)
                } else if NIODeadline.now() >= self.lastRead + self.readTimeout {
                    self.fail(.readTimeout)
                    context.close(promise: nil)
                } else {
                    self.armTimeout(context: context)
                }
            case .idle, .closed:
                break
            }
        }
    }
}
