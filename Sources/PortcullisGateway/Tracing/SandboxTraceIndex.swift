import Synchronization
import Tracing

/// Which session runs in each sandbox, and which traced invocation the session is answering right now: what the
/// endpoint inside a sandbox needs to tag an agent's spans with its session and agent, and to parent the agent's
/// vault calls under the invocation that caused them. Kept only while tracing is on.
final class SandboxTraceIndex: Sendable {
    struct Session: Sendable {
        var sessionId: String
        var runtimeId: String
        /// The forwarding span of the invocation in flight (the latest, when calls overlap).
        var invocation: InstrumentationContext?
        fileprivate var invocationNumber = 0
    }

    private let sessions = Mutex<[String: Session]>([:])

    /// A session's sandbox ended; its entry goes.
    func ended(sandboxId: String) {
        sessions.withLock { _ = $0.removeValue(forKey: sandboxId) }
    }

    func session(inSandbox sandboxId: String) -> Session? {
        sessions.withLock { $0[sandboxId] }
    }

    /// Marks `context` as the invocation the sandbox's agent is answering (recording which session runs there);
    /// returns the mark for ``invocationEnded(sandboxId:mark:)``.
    func invocationBegan(sandboxId: String, sessionId: String, runtimeId: String, context: InstrumentationContext) -> Int {
        sessions.withLock { sessions in
            var session = sessions[sandboxId] ?? Session(sessionId: sessionId, runtimeId: runtimeId)
            session.invocationNumber += 1
            session.invocation = context
            sessions[sandboxId] = session
            return session.invocationNumber
        }
    }

    /// Clears the invocation mark unless a later invocation replaced it.
    func invocationEnded(sandboxId: String, mark: Int) {
        sessions.withLock { sessions in
            guard var session = sessions[sandboxId], session.invocationNumber == mark else { return }
            session.invocation = nil
            sessions[sandboxId] = session
        }
    }
}
