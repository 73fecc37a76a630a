import Logging
import PortcullisCore

/// Makes the registry match the agents declared in the configuration file: creates new ones, versions changed
/// ones, removes ones no longer declared. Agents created through the API are never touched.
struct DeclaredAgentReconciler: Sendable {
    let registry: AgentRuntimeRegistry
    let deployer: AgentDeployer
    let logger: Logger

    func reconcile(_ declared: [DeclaredAgent]) async throws {
        let declaredNames = Set(declared.map(\.name))
        for agent in declared {
            let runtime: AgentRuntime
            if let existing = try await registry.runtime(named: agent.name) {
                guard existing.owner == .configuration else {
                    throw ConfigurationError(
                        "agents: '\(agent.name)' already exists as an agent runtime created through the API; rename the declared agent or delete that runtime"
                    )
                }
                let latest = try await registry.version(of: existing, nil)
                if latest.configuration != agent.configuration {
                    runtime = try await registry.update(runtimeId: existing.id, configuration: agent.configuration, as: .configuration).0
                } else {
                    runtime = existing
                }
            } else {
                runtime = try await registry.create(name: agent.name, configuration: agent.configuration, tags: agent.tags, owner: .configuration).0
            }
            if agent.configuration.artifact.runsInSandbox {
                // Declared code and images are deployed at every start: the file names a path, and its contents are
                // what runs.
                if let failure = await deployer.deployNow(runtimeId: runtime.id, version: runtime.latestVersion, artifact: agent.configuration.artifact) {
                    let field = if case .image = agent.configuration.artifact { "image" } else { "code" }
                    throw ConfigurationError("agents[\(agent.name)].\(field): \(failure)")
                }
            }
        }
        var after: String?
        while true {
            let page = try await registry.list(after: after, limit: 100)
            for (runtime, _) in page where runtime.owner == .configuration && !declaredNames.contains(runtime.name) {
                _ = try await registry.delete(runtimeId: runtime.id, as: .configuration)
                logger.notice("removed agent no longer declared in the configuration", metadata: ["agent": "\(runtime.name)"])
            }
            guard page.count == 100, let last = page.last else { break }
            after = last.0.id
        }
    }
}
