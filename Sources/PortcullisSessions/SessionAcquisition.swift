/// How an invocation got its session: what traces report as the session-acquire step (cold start or reuse).
public enum SessionAcquisition: String, Sendable {
    /// The session was running; the call joined it.
    case reused
    /// Another call was starting the session; this one waited for that start.
    case joinedStart = "joined_start"
    /// This call started the session with a sandbox the pool had ready.
    case pooled
    /// This call started the session and booted its sandbox.
    case cold
    /// This call opened a session of an agent at an endpoint (nothing to boot).
    case opened

    /// Whether this call started the session.
    public var isNew: Bool {
        switch self {
        case .reused, .joinedStart: false
        case .pooled, .cold, .opened: true
        }
    }
}
