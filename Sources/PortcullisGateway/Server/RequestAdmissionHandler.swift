import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import PortcullisCore

/// Channel handler in front of Hummingbird that decides, from the request head alone, what must happen before a
/// body is read:
/// - a declared `Content-Length` above the limit gets 413 at once and the connection closes, so the body is never
///   read;
/// - `Expect: 100-continue` is answered with `100 Continue` (Hummingbird never answers it), any other expectation
///   with 417.
final class RequestAdmissionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
        typealias OutboundOut = HTTPResponsePart

    private let maxBodyBytes: Int
    /// Set once a request was refused here: its remaining parts are dropped and the connection is closing.
    private var refusing = false

    init(maxBodyBytes: Int) {
        self.maxBodyBytes = maxBodyBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refusing else { return }
        let part = unwrapInboundIn(data)
        guard case .head(var head) = part else {
            context.fireChannelRead(data)
            return
        }
        if let declared = head.headerFields[.contentLength], let length = Int(declared), length > maxBodyBytes {
            refuse(
                context: context,
                AgentCoreError(
                    .payloadTooLarge,
                    "The request body of \(length) bytes exceeds the limit of \(maxBodyBytes) bytes"
                )
            )
            return
        }
        if let expectation = head.headerFields[.expect] {
            guard expectation.lowercased() == "100-continue" else {
                refuse(context: context, AgentCoreError(.validation, "Unsupported expectation '\(expectation)'", reason: .cannotParse), status: 417)
                return
            }
            head.headerFields[.expect] = nil
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
        }
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }

    private func refuse(context: ChannelHandlerContext, _ error: AgentCoreError, status: Int? = nil) {
        refusing = true
        let response = error.envelopeParts(requestId: RequestIdentifier.next(), closeConnection: true, status: status)
        context.write(wrapOutboundOut(.head(response.head)), promise: nil)
        context.write(wrapOutboundOut(.body(response.body)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            context.close(promise: nil)
        }
    }
}
