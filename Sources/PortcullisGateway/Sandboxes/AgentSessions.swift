import PortcullisCore
import PortcullisSessions

/// Runtime sessions of every kind: for endpoint agents an ownership claim (``SessionDirectory``), for code agents a
/// sandbox each (``SandboxSessions``). The data plane asks here for a session and the address its call goes to.
struct AgentSessions: Sendable {
    let directory: SessionDirectory
    let sandboxes: SandboxSessions?
    /// Why code agents cannot run on this gateway, when ``sandboxes`` is `nil`.
    let sandboxesUnavailable: String

    /// Begins a call in the requested session (or a new one) and says where to send it.
    /// - Throws: `ValidationException`, `ResourceNotFoundException` (another principal's session),
    ///   `ServiceQuotaExceededException`, `RuntimeClientError` (the sandbox cannot start).
    func begin(_ resolved: ResolvedRuntime, requestedSessionId: String?, principalId: String) async throws(AgentCoreError) -> (SessionHold, UpstreamAddress) {
        if let agent = resolved.sandboxed {
            guard let sandboxes else {
                throw AgentCoreError(.runtimeClientError, "This gateway cannot run agents deployed as code: \(sandboxesUnavailable)")
            }
            let lease = try await sandboxes.begin(agent, requestedSessionId: requestedSessionId, principalId: principalId)
            let hold = SessionHold(sessionId: lease.sessionId, acquisition: lease.acquisition) { traffic in sandboxes.end(lease, traffic: traffic) }
            return (hold, UpstreamAddress(sandbox: lease.sandbox, port: lease.port))
        }
        guard let upstream = resolved.upstream else {
            throw AgentCoreError(.runtimeClientError, "The agent runtime has no address")
        }
        let lease = try directory.begin(
            runtimeId: resolved.runtime.id,
            requestedSessionId: requestedSessionId,
            principalId: principalId,
            lifecycle: resolved.configuration.lifecycle
        )
        let directory = directory
        return (SessionHold(sessionId: lease.sessionId, acquisition: lease.acquisition) { _ in directory.end(lease) }, upstream)
    }

    /// Ends a session at its owner's request.
    func stop(_ resolved: ResolvedRuntime, sessionId: String, principalId: String) async throws(AgentCoreError) {
        if resolved.sandboxed != nil, let sandboxes {
            try await sandboxes.stop(runtimeId: resolved.runtime.id, sessionId: sessionId, principalId: principalId)
        } else {
            try directory.stop(runtimeId: resolved.runtime.id, sessionId: sessionId, principalId: principalId)
        }
    }

    /// Ends every session of a deleted runtime.
    func removeAll(runtimeId: String) async {
        directory.removeAll(runtimeId: runtimeId)
        await sandboxes?.stopAll(runtimeId: runtimeId)
    }
}
