import Foundation
import PortcullisCore
import PortcullisIdentity
import Synchronization

/// Sign-ins on their way through the identity provider, keyed by their `state`. Each is bound to the browser that
/// started it by a cookie (only its hash is kept here), so an attacker cannot finish a sign-in in someone else's
/// browser (login CSRF); each can be finished once, within ten minutes.
final class PendingSignIns: Sendable {
    struct Pending: Sendable {
        var issuerName: String
        var nonce: String
        var pkce: PKCE
        var redirectURI: String
        var returnTo: String
        var bindingHash: [UInt8]
        var startedAt: Date
    }

    static let lifetime: TimeInterval = 600
    static let bindingCookie = "portcullis_signin"
    private static let capacity = 10_000
    private let pending = Mutex<[String: Pending]>([:])
    private let clock: any WallClock

    init(clock: any WallClock) {
        self.clock = clock
    }

    /// Records a sign-in; returns its `state` and the binding cookie's value.
    func start(issuerName: String, nonce: String, pkce: PKCE, redirectURI: String, returnTo: String) -> (state: String, binding: String) {
        let state = PKCE.randomToken()
        let binding = PKCE.randomToken()
        let now = clock.now()
        let entry = Pending(
            issuerName: issuerName, nonce: nonce, pkce: pkce, redirectURI: redirectURI, returnTo: returnTo,
            bindingHash: BrowserSessions.hash(binding), startedAt: now
        )
        pending.withLock { pending in
            if pending.count >= Self.capacity {
                pending = pending.filter { now.timeIntervalSince($0.value.startedAt) < Self.lifetime }
                if pending.count >= Self.capacity { pending.removeAll(keepingCapacity: true) }
            }
            pending[state] = entry
        }
        return (state, binding)
    }

    /// Takes the sign-in for `state` if the browser presents its binding cookie and it has not expired.
    func finish(state: String, binding: String?) -> Pending? {
        guard let entry = pending.withLock({ $0.removeValue(forKey: state) }) else { return nil }
        guard let binding, ConstantTime.equals(BrowserSessions.hash(binding), entry.bindingHash),
            clock.now().timeIntervalSince(entry.startedAt) < Self.lifetime
        else { return nil }
        return entry
    }
}
