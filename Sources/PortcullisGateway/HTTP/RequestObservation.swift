import Synchronization

/// What a handler learned about its request that the outermost middleware reports with the answer, and that every
/// log line of the request carries: the agent runtime it resolved (also the request metrics' `agent_runtime`
/// label) and the runtime session. A reference, since the handlers get copies of the request context.
final class RequestObservation: Sendable {
    private struct Learned {
        var agentRuntimeId = ""
        var sessionId: String?
    }

    private let learned = Mutex(Learned())

    var agentRuntimeId: String {
        get { learned.withLock { $0.agentRuntimeId } }
        set { learned.withLock { $0.agentRuntimeId = newValue } }
    }

    var sessionId: String? {
        get { learned.withLock { $0.sessionId } }
        set { learned.withLock { $0.sessionId = newValue } }
    }
}
