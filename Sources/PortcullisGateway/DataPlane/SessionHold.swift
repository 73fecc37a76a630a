/// A call's hold on its session, released exactly once: when the response (or its streamed body) is done, or when
/// the response is dropped unsent. Tying the release to the object's lifetime means no error path can leave a
/// session marked busy forever.
final class SessionHold: Sendable {
    let sessionId: String
    /// `true` when this call started the session.
    let isNew: Bool
    private let release: @Sendable () -> Void

    init(sessionId: String, isNew: Bool, release: @escaping @Sendable () -> Void) {
        self.sessionId = sessionId
        self.isNew = isNew
        self.release = release
    }

    deinit {
        release()
    }
}
