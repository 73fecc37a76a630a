import NIOCore

/// Tells the connection's ``ClientConnection`` when the client stops sending: the channel closes, or the client
/// shuts down its side (the server keeps half-closed connections open, so a closed channel alone would miss it).
/// Like nginx, the gateway treats either as the client having gone away.
final class ClientCloseObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let connection: ClientConnection

    init(connection: ClientConnection) {
        self.connection = connection
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            connection.markClosed()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection.markClosed()
        context.fireChannelInactive()
    }
}
