import NIOCore
import NIOHTTP1
import PortcullisCore

/// Answers a request the HTTP/1.1 parser rejects (bad framing, control characters in a header, oversized
/// headers) with 400 in the AgentCore envelope and closes the connection, instead of dropping it silently.
///
/// It sits right after the HTTP codec for the whole life of an HTTP connection, including the first request
/// (while a WebSocket upgrade is still being negotiated), and is removed when a connection upgrades.
final class HTTPParseErrorHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    static let name = "portcullis.parse-errors"

    /// Whether a response has begun and not ended; a parse error then cannot be answered, only closed.
    private var responseInProgress = false
    private var failed = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.code >= 200:
            responseInProgress = true
        case .end:
            responseInProgress = false
        default:
            break
        }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        guard !failed else { return }
        failed = true
        guard !responseInProgress else {
            context.close(promise: nil)
            return
        }
        let message: String
        switch error as? HTTPParserError {
        case .headerOverflow?: message = "The request headers are too large"
        default: message = "The request is not valid HTTP/1.1 (a header may contain control characters)"
        }
        let envelope = AgentCoreError.cannotParse(message)
        let body = ByteBuffer(bytes: envelope.envelopeJSON())
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "X-Amzn-ErrorType", value: envelope.code.rawValue)
        headers.add(name: "x-amzn-RequestId", value: RequestIdentifier.next())
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .badRequest, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            context.close(promise: nil)
        }
    }
}
