import NIOCore
import NIOHTTP1
import NIOWebSocket
import Synchronization

/// An admitted WebSocket invocation whose agent side is already connected and upgraded, waiting for the client
/// side to finish its upgrade.
final class WebSocketRelayPlan: Sendable {
    let upstream: NIOAsyncChannel<WebSocketFrame, WebSocketFrame>
    /// Headers for the client's `101` response: session and request ids, the negotiated subprotocol.
    let responseHeaders: HTTPHeaders
    let hold: SessionHold
    let agentName: String
    private let consumed = Mutex(false)

    init(upstream: NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, responseHeaders: HTTPHeaders, hold: SessionHold, agentName: String) {
        self.upstream = upstream
        self.responseHeaders = responseHeaders
        self.hold = hold
        self.agentName = agentName
    }

    /// Claims the plan for relaying. Returns `false` when it was already claimed or abandoned.
    func claim() -> Bool {
        consumed.withLock { consumed in
            defer { consumed = true }
            return !consumed
        }
    }

    /// Closes the agent side of a plan whose client never completed the upgrade.
    func abandon() {
        guard claim() else { return }
        upstream.channel.close(promise: nil)
    }
}
