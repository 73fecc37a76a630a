import Synchronization

/// What a handler learned about its request that the outermost middleware reports with the answer: the agent
/// runtime it resolved (for the request metrics' `agent_runtime` label). A reference, since the handlers get
/// copies of the request context.
final class RequestObservation: Sendable {
    private let resolvedRuntime = Mutex<String>("")

    var agentRuntimeId: String {
        get { resolvedRuntime.withLock { $0 } }
        set { resolvedRuntime.withLock { $0 = newValue } }
    }
}
