import Foundation
import Logging
import PortcullisCore
import PortcullisIdentity
import PortcullisSessions
import PortcullisStore
import PortcullisVault

/// The agent registry's rules: names, immutable versions, the `DEFAULT` endpoint that follows the newest version,
/// pinned named endpoints, quotas, and which runtimes the configuration file owns. The control plane and the
/// configuration file both go through here.
struct AgentRuntimeRegistry: Sendable {
    static let maxVersions = 1000
    static let maxEndpoints = 10

    let store: any AgentRegistryStore
    let names: ResourceNames
    let clock: any WallClock
    let resolver: RuntimeResolver
    let deployer: AgentDeployer
    let sessions: AgentSessions
    let issuers: IssuerRegistry
    /// A runtime's workload identity goes with it, and its grants' tokens to the vendors' revocation.
    let revocations: VendorRevocations
    let logger: Logger

    // MARK: - Runtimes

    func create(
        name: String,
        configuration: AgentRuntimeConfiguration,
        tags: [String: String],
        owner: AgentRuntimeOwner
    ) async throws(AgentCoreError) -> (AgentRuntime, AgentRuntimeVersion) {
        try trustAuthorizer(of: configuration)
        try admitArtifact(of: configuration, owner: owner)
        let now = clock.now()
        let status = Self.initialStatus(of: configuration)
        let runtime = AgentRuntime(
            id: AgentRuntimeIdentifier.makeRuntimeId(name: name),
            name: name,
            latestVersion: 1,
            status: status,
            createdAt: now,
            lastUpdatedAt: now,
            tags: tags,
            owner: owner
        )
        let version = AgentRuntimeVersion(runtimeId: runtime.id, version: 1, configuration: configuration, status: status, createdAt: now)
        let endpoint = AgentRuntimeEndpoint(
            runtimeId: runtime.id,
            name: AgentRuntimeEndpoint.defaultName,
            id: AgentRuntimeIdentifier.makeRuntimeId(name: AgentRuntimeEndpoint.defaultName),
            liveVersion: 1,
            targetVersion: 1,
            status: status,
            createdAt: now,
            lastUpdatedAt: now
        )
        try await storeCall {
            try await store.createRuntime(runtime, firstVersion: version, defaultEndpoint: endpoint)
        }
        logger.info("agent runtime created", metadata: ["agent": "\(name)", "runtime_id": "\(runtime.id)", "owner": "\(owner.rawValue)"])
        await scheduleDeployment(version, owner: owner)
        return (runtime, version)
    }

    func update(
        runtimeId: String,
        configuration: AgentRuntimeConfiguration,
        as caller: AgentRuntimeOwner
    ) async throws(AgentCoreError) -> (AgentRuntime, AgentRuntimeVersion) {
        let runtime = try await runtime(id: runtimeId)
        try checkOwnership(runtime, caller: caller)
        try trustAuthorizer(of: configuration)
        try admitArtifact(of: configuration, owner: caller)
        guard runtime.latestVersion < Self.maxVersions else {
            throw AgentCoreError(.serviceQuotaExceeded, "Agent runtime \(runtime.name) already has \(Self.maxVersions) versions")
        }
        let result = try await storeCall {
            try await store.appendVersion(runtimeId: runtimeId, configuration: configuration, status: Self.initialStatus(of: configuration), at: clock.now())
        }
        guard let result else { throw notFound(runtimeId) }
        resolver.invalidate(runtimeId: runtimeId)
        logger.info("agent runtime updated", metadata: ["agent": "\(runtime.name)", "version": "\(result.1.version)"])
        await scheduleDeployment(result.1, owner: caller)
        return result
    }

    func delete(runtimeId: String, as caller: AgentRuntimeOwner) async throws(AgentCoreError) -> AgentRuntime {
        var runtime = try await runtime(id: runtimeId)
        try checkOwnership(runtime, caller: caller)
        let deleted = try await storeCall { try await store.deleteRuntime(id: runtimeId) }
        guard deleted else { throw notFound(runtimeId) }
        revocations.runSoon()
        resolver.invalidate(runtimeId: runtimeId)
        await sessions.removeAll(runtimeId: runtimeId)
        await deployer.removeArtifacts(runtimeId: runtimeId)
        logger.info("agent runtime deleted", metadata: ["agent": "\(runtime.name)", "runtime_id": "\(runtimeId)"])
        runtime.status = .deleting
        return runtime
    }

    func runtime(id: String) async throws(AgentCoreError) -> AgentRuntime {
        guard AgentRuntimeIdentifier.isValidRuntimeId(id[...]) else {
            throw AgentCoreError.invalidField("agentRuntimeId", "Member must satisfy regular expression pattern: [a-zA-Z][a-zA-Z0-9_]{0,99}-[a-zA-Z0-9]{10}")
        }
        guard let runtime = try await storeCall({ try await store.runtime(id: id) }) else { throw notFound(id) }
        return runtime
    }

    func runtime(named name: String) async throws(AgentCoreError) -> AgentRuntime? {
        try await storeCall { try await store.runtime(named: name) }
    }

    func version(of runtime: AgentRuntime, _ number: Int?) async throws(AgentCoreError) -> AgentRuntimeVersion {
        let wanted = number ?? runtime.latestVersion
        guard let version = try await storeCall({ try await store.version(runtimeId: runtime.id, version: wanted) }) else {
            throw AgentCoreError.notFound("Agent runtime \(runtime.id) has no version \(wanted)")
        }
        return version
    }

    func list(after: String?, limit: Int) async throws(AgentCoreError) -> [(AgentRuntime, AgentRuntimeVersion)] {
        let runtimes = try await storeCall { try await store.runtimes(after: after, limit: limit) }
        var result: [(AgentRuntime, AgentRuntimeVersion)] = []
        for runtime in runtimes {
            result.append((runtime, try await version(of: runtime, nil)))
        }
        return result
    }

    func versions(of runtime: AgentRuntime, before: Int?, limit: Int) async throws(AgentCoreError) -> [AgentRuntimeVersion] {
        try await storeCall { try await store.versions(runtimeId: runtime.id, before: before, limit: limit) }
    }

    // MARK: - Endpoints

    func createEndpoint(
        runtimeId: String,
        name: String,
        version: Int?,
        description: String?
    ) async throws(AgentCoreError) -> AgentRuntimeEndpoint {
        let runtime = try await runtime(id: runtimeId)
        guard name != AgentRuntimeEndpoint.defaultName else {
            throw AgentCoreError(.conflict, "The DEFAULT endpoint exists already and always follows the newest version")
        }
        let targetVersion = try await self.version(of: runtime, version)
        try Self.checkDeployable(targetVersion)
        let target = targetVersion.version
        let count = try await storeCall { try await store.endpointCount(runtimeId: runtimeId) }
        guard count < Self.maxEndpoints else {
            throw AgentCoreError(.serviceQuotaExceeded, "Agent runtime \(runtime.name) already has \(Self.maxEndpoints) endpoints")
        }
        let now = clock.now()
        let endpoint = AgentRuntimeEndpoint(
            runtimeId: runtimeId,
            name: name,
            id: AgentRuntimeIdentifier.makeRuntimeId(name: name),
            liveVersion: target,
            targetVersion: target,
            description: description,
            status: targetVersion.status == .ready ? .ready : .creating,
            createdAt: now,
            lastUpdatedAt: now
        )
        try await storeCall { try await store.createEndpoint(endpoint) }
        resolver.invalidate(runtimeId: runtimeId)
        return endpoint
    }

    func endpoint(runtimeId: String, name: String) async throws(AgentCoreError) -> AgentRuntimeEndpoint {
        _ = try await runtime(id: runtimeId)
        guard let endpoint = try await storeCall({ try await store.endpoint(runtimeId: runtimeId, name: name) }) else {
            throw AgentCoreError.notFound("Agent runtime \(runtimeId) has no endpoint \(name)")
        }
        return endpoint
    }

    func updateEndpoint(
        runtimeId: String,
        name: String,
        version: Int?,
        description: String?
    ) async throws(AgentCoreError) -> AgentRuntimeEndpoint {
        guard name != AgentRuntimeEndpoint.defaultName else {
            throw AgentCoreError.invalidField("endpointName", "The DEFAULT endpoint always follows the newest version and cannot be changed")
        }
        let runtime = try await runtime(id: runtimeId)
        var endpoint = try await endpoint(runtimeId: runtimeId, name: name)
        if let version {
            let target = try await self.version(of: runtime, version)
            try Self.checkDeployable(target)
            // A version still deploying becomes the target; the endpoint keeps serving its live version until then.
            endpoint.targetVersion = target.version
            if target.status == .ready { endpoint.liveVersion = target.version }
            endpoint.status = target.status == .ready ? .ready : .updating
            endpoint.failureReason = nil
        }
        if let description { endpoint.description = description }
        endpoint.lastUpdatedAt = clock.now()
        let updated = endpoint
        guard try await storeCall({ try await store.updateEndpoint(updated) }) else {
            throw AgentCoreError.notFound("Agent runtime \(runtimeId) has no endpoint \(name)")
        }
        resolver.invalidate(runtimeId: runtimeId)
        return endpoint
    }

    func deleteEndpoint(runtimeId: String, name: String) async throws(AgentCoreError) -> AgentRuntimeEndpoint {
        guard name != AgentRuntimeEndpoint.defaultName else {
            throw AgentCoreError.invalidField("endpointName", "The DEFAULT endpoint is deleted with its agent runtime")
        }
        var endpoint = try await endpoint(runtimeId: runtimeId, name: name)
        guard try await storeCall({ try await store.deleteEndpoint(runtimeId: runtimeId, name: name) }) else {
            throw AgentCoreError.notFound("Agent runtime \(runtimeId) has no endpoint \(name)")
        }
        resolver.invalidate(runtimeId: runtimeId)
        endpoint.status = .deleting
        return endpoint
    }

    func endpoints(runtimeId: String, after: String?, limit: Int) async throws(AgentCoreError) -> [AgentRuntimeEndpoint] {
        _ = try await runtime(id: runtimeId)
        return try await storeCall { try await store.endpoints(runtimeId: runtimeId, after: after, limit: limit) }
    }

    // MARK: - Helpers

    /// Makes sure the issuer a configuration's JWT authorizer names is trusted — a listed issuer, or one registered
    /// for it when unlisted issuers are allowed — so a runtime never stores an authorizer no token could satisfy.
    func trustAuthorizer(of configuration: AgentRuntimeConfiguration) throws(AgentCoreError) {
        guard configuration.requiresJWTBearer else { return }
        let field = "authorizerConfiguration.customJWTAuthorizer.discoveryUrl"
        guard let authorizer = configuration.customJWTAuthorizer else {
            throw AgentCoreError.invalidField("authorizerConfiguration.customJWTAuthorizer", "Member is not a valid authorizer")
        }
        do {
            _ = try issuers.issuer(forDiscoveryURL: authorizer.discoveryURL)
        } catch {
            throw AgentCoreError.invalidField(field, error.description)
        }
    }

    /// Code is deployed after the version is stored; everything else is ready at once.
    private static func initialStatus(of configuration: AgentRuntimeConfiguration) -> AgentRuntimeStatus {
        configuration.artifact.runsInSandbox ? .creating : .ready
    }

    /// Refuses code and image sources the control plane may not name (see ``ArtifactsConfiguration``).
    private func admitArtifact(of configuration: AgentRuntimeConfiguration, owner: AgentRuntimeOwner) throws(AgentCoreError) {
        guard owner == .api, let source = configuration.artifact.deploymentSource else { return }
        let (artifactField, sourceField) = if case .image = configuration.artifact {
            ("agentRuntimeArtifact.containerConfiguration", "agentRuntimeArtifact.containerConfiguration.containerUri")
        } else {
            ("agentRuntimeArtifact.codeConfiguration", "agentRuntimeArtifact.codeConfiguration.code")
        }
        guard sessions.sandboxes != nil else {
            throw AgentCoreError.invalidField(artifactField, "This gateway cannot run code or container images: \(sessions.sandboxesUnavailable)")
        }
        try deployer.admit(source, field: sourceField)
    }

    /// Queues the deployment of a version the control plane made; the configuration file's agents are deployed by
    /// ``DeclaredAgentReconciler`` before the gateway serves.
    private func scheduleDeployment(_ version: AgentRuntimeVersion, owner: AgentRuntimeOwner) async {
        guard owner == .api, version.status == .creating, version.configuration.artifact.runsInSandbox else { return }
        await deployer.schedule(runtimeId: version.runtimeId, version: version.version, artifact: version.configuration.artifact)
    }

    private static func checkDeployable(_ version: AgentRuntimeVersion) throws(AgentCoreError) {
        guard version.status == .ready || version.status == .creating else {
            throw AgentCoreError.invalidField(
                "agentRuntimeVersion",
                "Version \(version.version) is \(version.status.rawValue)\(version.failureReason.map { ": \($0)" } ?? ""); an endpoint can only point at a READY or CREATING version"
            )
        }
    }

    private func checkOwnership(_ runtime: AgentRuntime, caller: AgentRuntimeOwner) throws(AgentCoreError) {
        guard runtime.owner == caller else {
            throw AgentCoreError(
                .conflict,
                "Agent runtime \(runtime.name) is declared in the gateway's configuration file; change it there"
            )
        }
    }

    private func notFound(_ runtimeId: String) -> AgentCoreError {
        AgentCoreError.notFound("No agent runtime with id \(runtimeId)")
    }

    /// Runs a store call, mapping store failures onto AgentCore errors.
    private func storeCall<T>(_ body: () async throws -> T) async throws(AgentCoreError) -> T {
        do {
            return try await body()
        } catch let error as AgentCoreError {
            throw error
        } catch StoreError.conflict(let message) {
            throw AgentCoreError(.conflict, message)
        } catch {
            logger.error("agent registry store failure", metadata: ["error": "\(error)"])
            throw AgentCoreError(.internalServer, "The agent registry is unavailable")
        }
    }
}
