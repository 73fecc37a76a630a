import PortcullisSessions
import Synchronization

/// A call's hold on its session, released exactly once: when the response (or its streamed body) is done, or when
/// the response is dropped unsent. Tying the release to the object's lifetime means no error path can leave a
/// session marked busy forever. The call's traffic is counted here and metered at the release.
final class SessionHold: Sendable {
    let sessionId: String
    /// How this call got the session (reused, or started cold or from the pool).
    let acquisition: SessionAcquisition
    private let release: @Sendable (SessionTraffic) -> Void
    private let bytesIn = Atomic<Int>(0)
    private let bytesOut = Atomic<Int>(0)

    init(sessionId: String, acquisition: SessionAcquisition, release: @escaping @Sendable (SessionTraffic) -> Void) {
        self.sessionId = sessionId
        self.acquisition = acquisition
        self.release = release
    }

    /// Body bytes that went to the agent.
    func countIn(_ bytes: Int) {
        bytesIn.add(bytes, ordering: .relaxed)
    }

    /// Body bytes that went back to the caller.
    func countOut(_ bytes: Int) {
        bytesOut.add(bytes, ordering: .relaxed)
    }

    deinit {
        release(SessionTraffic(bytesIn: bytesIn.load(ordering: .relaxed), bytesOut: bytesOut.load(ordering: .relaxed)))
    }
}
