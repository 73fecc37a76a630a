import NIOCore
import PortcullisCore
import Synchronization

/// What the gateway tracks about one client connection beyond what Hummingbird does: when it closes (so an
/// upstream call can be abandoned the moment its caller leaves) and the outcome of a WebSocket upgrade attempt.
final class ClientConnection: Sendable {
    private enum CloseState {
        case open(callbacks: [Int: @Sendable () -> Void], next: Int)
        case closed
    }

    private let closeState = Mutex<CloseState>(.open(callbacks: [:], next: 0))
    private let upgrade = Mutex<UpgradeOutcome?>(nil)

    /// The outcome of the WebSocket admission run while negotiating an upgrade, handed from the upgrader to the
    /// code that runs after it.
    enum UpgradeOutcome: Sendable {
        case accepted(WebSocketRelayPlan)
        case refused(AgentCoreError)
    }

    /// Whether the client side of this connection has closed.
    var isClosed: Bool {
        closeState.withLock { if case .closed = $0 { return true } else { return false } }
    }

    /// Marks the connection closed and runs everything registered with ``onClose(_:)``.
    func markClosed() {
        let callbacks = closeState.withLock { state -> [@Sendable () -> Void] in
            guard case .open(let callbacks, _) = state else { return [] }
            state = .closed
            return Array(callbacks.values)
        }
        for callback in callbacks { callback() }
        if case .accepted(let plan) = takeUpgradeOutcome() {
            plan.abandon()
        }
    }

    /// Runs `callback` when the connection closes. Returns a registration to pass to ``cancelOnClose(_:)``, or
    /// `nil` — without calling `callback` — when the connection is already closed.
    func onClose(_ callback: @escaping @Sendable () -> Void) -> Int? {
        closeState.withLock { state -> Int? in
            guard case .open(var callbacks, let next) = state else { return nil }
            callbacks[next] = callback
            state = .open(callbacks: callbacks, next: next + 1)
            return next
        }
    }

    func cancelOnClose(_ registration: Int) {
        closeState.withLock { state in
            guard case .open(var callbacks, let next) = state else { return }
            callbacks.removeValue(forKey: registration)
            state = .open(callbacks: callbacks, next: next)
        }
    }

    func recordUpgradeOutcome(_ outcome: UpgradeOutcome) {
        upgrade.withLock { $0 = outcome }
    }

    func takeUpgradeOutcome() -> UpgradeOutcome? {
        upgrade.withLock { outcome in
            defer { outcome = nil }
            return outcome
        }
    }
}
