import NIOCore
import PortcullisCore
import Synchronization

/// What the gateway tracks about one client connection beyond what Hummingbird does: when it closes (so an
/// upstream call can be abandoned the moment its caller leaves) and the outcome of a WebSocket upgrade attempt.
final class ClientConnection: Sendable {
    private enum CloseState {
        case open(waiters: [Int: CheckedContinuation<Void, Never>], nextWaiter: Int)
        case closed
    }

    private let closeState = Mutex<CloseState>(.open(waiters: [:], nextWaiter: 0))
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

    /// Marks the connection closed and wakes everyone waiting for that.
    func markClosed() {
        let waiters = closeState.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard case .open(let waiters, _) = state else { return [] }
            state = .closed
            return Array(waiters.values)
        }
        for waiter in waiters { waiter.resume() }
        if case .accepted(let plan) = takeUpgradeOutcome() {
            plan.abandon()
        }
    }

    /// Returns when the connection closes, or when the calling task is cancelled, whichever comes first.
    func waitUntilClosed() async {
        let id = closeState.withLock { state -> Int? in
            guard case .open(let waiters, let next) = state else { return nil }
            state = .open(waiters: waiters, nextWaiter: next + 1)
            return next
        }
        guard let id else { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = closeState.withLock { state -> Bool in
                    guard case .open(var waiters, let next) = state else { return true }
                    waiters[id] = continuation
                    state = .open(waiters: waiters, nextWaiter: next)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = closeState.withLock { state -> CheckedContinuation<Void, Never>? in
                guard case .open(var waiters, let next) = state else { return nil }
                let waiter = waiters.removeValue(forKey: id)
                state = .open(waiters: waiters, nextWaiter: next)
                return waiter
            }
            waiter?.resume()
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
