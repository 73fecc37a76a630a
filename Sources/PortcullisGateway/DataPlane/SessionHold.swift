import PortcullisSessions

/// An invocation's hold on its session, released exactly once: when the response (or its streamed body) is done,
/// or when the response is dropped unsent. Tying the release to the object's lifetime means no error path can
/// leave a session marked busy forever.
final class SessionHold: Sendable {
    let lease: SessionDirectory.Lease
    private let directory: SessionDirectory

    init(lease: SessionDirectory.Lease, directory: SessionDirectory) {
        self.lease = lease
        self.directory = directory
    }

    deinit {
        directory.end(lease)
    }
}
