import Foundation
import Logging
import PortcullisCore

/// Starts a sandbox for an agent and waits until the agent answers on its port; a sandbox that exits or stays
/// silent is destroyed and the failure logged with the agent's last output.
struct SandboxStarter: Sendable {
    let drivers: SandboxDrivers
    let startTimeoutSeconds: Double
    /// Answers the gateway endpoint inside each sandbox (``SandboxEndpoint``); none when `nil`.
    let endpoint: SandboxEndpointHandler?
    let logger: Logger

    /// - Parameter sessionId: the session the sandbox is for, put in its environment; `nil` for a pooled sandbox.
    func start(_ agent: SandboxedAgent, sessionId: String?) async -> Result<any Sandbox, AgentCoreError> {
        var specification = SandboxSpecification(
            id: SecureRandom.base32(16),
            command: agent.command,
            environment: agent.environment,
            sessionEnvironment: sessionId.map { ["X_AMZN_BEDROCK_AGENTCORE_RUNTIME_SESSION_ID": $0] } ?? [:],
            filesystem: agent.filesystem,
            limits: agent.limits,
            agentPort: agent.port
        )
        specification.withServices = { sandbox in try await self.withServices(sandbox, agent) }
        let started = ContinuousClock.now
        var sandbox: any Sandbox
        do {
            sandbox = try await drivers.driver(for: agent).start(specification)
        } catch {
            logger.error("sandbox did not start", metadata: ["agent_runtime": "\(agent.runtimeId)", "session_id": "\(sessionId ?? "(pool)")", "error": "\(error)"])
            return .failure(AgentCoreError(.runtimeClientError, "The agent runtime could not start a session"))
        }
        // Listening before the agent is ready: it may call out, or ask the vault, while it starts.
        do {
            sandbox = try await withServices(sandbox, agent)
        } catch {
            logger.error("a sandbox service did not start", metadata: ["agent_runtime": "\(agent.runtimeId)", "sandbox": "\(sandbox.id)", "error": "\(error)"])
            _ = await sandbox.destroy()
            return .failure(AgentCoreError(.runtimeClientError, "The agent runtime could not start a session"))
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

    /// The sandbox with its egress proxy (when the agent has egress rules) and the gateway endpoint (when the
    /// driver gives sandboxes a loopback of their own).
    private func withServices(_ sandbox: any Sandbox, _ agent: SandboxedAgent) async throws -> any Sandbox {
        var services: [any SandboxService] = []
        do {
            if !agent.egress.isEmpty {
                services.append(try await startEgressProxy(sandbox, agent))
            }
            if let endpoint, let service = try await startEndpoint(sandbox, agent, endpoint) {
                services.append(service)
            }
        } catch {
            for service in services { await service.close() }
            throw error
        }
        return services.isEmpty ? sandbox : ServedSandbox(sandbox, services: services)
    }

    private func startEgressProxy(_ sandbox: any Sandbox, _ agent: SandboxedAgent) async throws -> EgressProxy {
        let descriptor = try sandbox.listen(port: EgressProxy.port)
        // The server channel owns the descriptor from here, also when it fails to register (it closes it then).
        return try await EgressProxy.start(on: descriptor, rules: agent.egress, sandboxId: sandbox.id, logger: logger)
    }

    /// `nil` under the process driver, which has no loopback of the session's own to serve on.
    private func startEndpoint(_ sandbox: any Sandbox, _ agent: SandboxedAgent, _ handler: @escaping SandboxEndpointHandler) async throws -> SandboxEndpoint? {
        let descriptor: Int32
        do throws(SandboxError) {
            descriptor = try sandbox.listen(port: SandboxEndpoint.port)
        } catch {
            if error.kind == .unavailable { return nil }
            throw error
        }
        return try await SandboxEndpoint.start(on: descriptor, runtimeId: agent.runtimeId, sandboxId: sandbox.id, handler: handler)
    }
}
