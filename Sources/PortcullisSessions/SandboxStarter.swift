import Foundation
import Logging
import PortcullisCore

/// Starts a sandbox for an agent and waits until the agent answers on its port; a sandbox that exits or stays
/// silent is destroyed and the failure logged with the agent's last output.
struct SandboxStarter: Sendable {
    let driver: any SandboxDriver
    let startTimeoutSeconds: Double
    let logger: Logger

    /// - Parameter sessionId: the session the sandbox is for, put in its environment; `nil` for a pooled sandbox.
    func start(_ agent: SandboxedAgent, sessionId: String?) async -> Result<any Sandbox, AgentCoreError> {
        let specification = SandboxSpecification(
            id: SecureRandom.base32(16),
            command: agent.command,
            environment: sessionId.map { agent.environment.merging(["X_AMZN_BEDROCK_AGENTCORE_RUNTIME_SESSION_ID": $0]) { _, new in new } } ?? agent.environment,
            filesystem: agent.filesystem,
            limits: agent.limits,
            agentPort: agent.port
        )
        let started = ContinuousClock.now
        var sandbox: any Sandbox
        do {
            sandbox = try await driver.start(specification)
        } catch {
            logger.error("sandbox did not start", metadata: ["agent_runtime": "\(agent.runtimeId)", "session_id": "\(sessionId ?? "(pool)")", "error": "\(error)"])
            return .failure(AgentCoreError(.runtimeClientError, "The agent runtime could not start a session"))
        }
        if !agent.egress.isEmpty {
            // Listening before the agent is ready: it may call out while it starts.
            do {
                sandbox = try await Self.withEgressProxy(sandbox, rules: agent.egress, logger: logger)
            } catch {
                logger.error("the egress proxy did not start", metadata: ["agent_runtime": "\(agent.runtimeId)", "sandbox": "\(sandbox.id)", "error": "\(error)"])
                _ = await sandbox.destroy()
                return .failure(AgentCoreError(.runtimeClientError, "The agent runtime could not start a session"))
            }
        }
        do {
            _ = try await sandbox.waitUntilReady(port: agent.port, timeout: .milliseconds(Int64(startTimeoutSeconds * 1000)))
        } catch {
            let output = sandbox.outputTail(bytes: 2000)
            logger.error(
                "agent did not become ready",
                metadata: [
                    "agent_runtime": "\(agent.runtimeId)", "session_id": "\(sessionId ?? "(pool)")", "sandbox": "\(sandbox.id)", "error": "\(error)",
                    "agent_output": "\(output)",
                ]
            )
            _ = await sandbox.destroy()
            let message =
                error.kind == .exited
                ? "The agent exited before it was ready"
                : "The agent did not answer on port \(agent.port) within \(Int(startTimeoutSeconds)) s"
            return .failure(AgentCoreError(.runtimeClientError, message))
        }
        logger.info(
            "session started",
            metadata: [
                "agent_runtime": "\(agent.runtimeId)", "session_id": "\(sessionId ?? "(pool)")", "sandbox": "\(sandbox.id)",
                "cold_start": "\(ContinuousClock.now - started)",
            ]
        )
        return .success(sandbox)
    }

    private static func withEgressProxy(_ sandbox: any Sandbox, rules: [EgressRule], logger: Logger) async throws -> any Sandbox {
        let descriptor = try sandbox.listen(port: EgressProxy.port)
        // The server channel owns the descriptor from here, also when it fails to register (it closes it then).
        let proxy = try await EgressProxy.start(on: descriptor, rules: rules, sandboxId: sandbox.id, logger: logger)
        return ProxiedSandbox(sandbox, proxy: proxy)
    }
}
