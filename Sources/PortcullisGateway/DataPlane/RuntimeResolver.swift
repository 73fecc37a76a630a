import Foundation
import Logging
import PortcullisCore
import PortcullisSessions
import PortcullisStore
import Synchronization

/// Resolves (runtime id, qualifier) to the version that serves it, with a short cache so invocations do not read
/// the store.
///
/// Control-plane changes made through this process invalidate the cache at once; the short lifetime bounds how
/// long a change made elsewhere (another node, the configuration file on restart) takes to be seen.
final class RuntimeResolver: Sendable {
    private struct Key: Hashable {
        var runtimeId: String
        var qualifier: String
    }

    private struct Entry {
        var resolved: ResolvedRuntime?
        var fetchedAt: ContinuousClock.Instant
    }

    static let cacheLifetime: Duration = .seconds(2)
    private static let maxEntries = 10_000

    private let store: any AgentRegistryStore & WorkloadIdentityStore
    private let names: ResourceNames
    private let artifacts: AgentArtifacts
    private let logger: Logger
    private let cache = Mutex<[Key: Entry]>([:])

    init(store: any AgentRegistryStore & WorkloadIdentityStore, names: ResourceNames, artifacts: AgentArtifacts, logger: Logger) {
        self.store = store
        self.names = names
        self.artifacts = artifacts
        self.logger = logger
    }

    /// The version serving `target`.
    /// - Throws: `ResourceNotFoundException` for an unknown runtime or endpoint, `RuntimeClientError` for a version
    ///   that is not ready, `InternalServerException` when the store fails.
    func resolve(_ target: InvocationTarget) async throws(AgentCoreError) -> ResolvedRuntime {
        let key = Key(runtimeId: target.runtimeId, qualifier: target.qualifier)
        let now = ContinuousClock.now
        let cached = cache.withLock { $0[key] }
        let resolved: ResolvedRuntime?
        if let cached, now - cached.fetchedAt < Self.cacheLifetime {
            resolved = cached.resolved
        } else {
            resolved = try await load(key)
            cache.withLock { cache in
                if cache.count >= Self.maxEntries { cache.removeAll(keepingCapacity: true) }
                cache[key] = Entry(resolved: resolved, fetchedAt: now)
            }
        }
        guard let resolved else {
            throw AgentCoreError.notFound("No agent runtime \(target.runtimeId) with endpoint \(target.qualifier)")
        }
        guard resolved.version.status == .ready else {
            throw AgentCoreError(
                .runtimeClientError,
                "Version \(resolved.version.version) of \(resolved.runtime.name) is \(resolved.version.status.rawValue), not READY"
            )
        }
        return resolved
    }

    /// Drops every cached resolution of a runtime.
    func invalidate(runtimeId: String) {
        cache.withLock { cache in
            for key in cache.keys where key.runtimeId == runtimeId {
                cache.removeValue(forKey: key)
            }
        }
    }

    private func load(_ key: Key) async throws(AgentCoreError) -> ResolvedRuntime? {
        do {
            guard let runtime = try await store.runtime(id: key.runtimeId), runtime.status != .deleting,
                let endpoint = try await store.endpoint(runtimeId: key.runtimeId, name: key.qualifier),
                let version = try await store.version(runtimeId: key.runtimeId, version: endpoint.liveVersion)
            else { return nil }
            var upstream: UpstreamAddress?
            var sandboxed: SandboxedAgent?
            switch version.configuration.artifact {
            case .endpoint(let url):
                guard let address = UpstreamAddress(url: url) else { return nil }
                upstream = address
            case .code, .image:
                sandboxed = artifacts.sandboxedAgent(runtimeId: runtime.id, owner: runtime.owner, version: version)
            }
            return ResolvedRuntime(
                runtime: runtime,
                endpointName: endpoint.name,
                version: version,
                arn: names.runtimeARN(runtimeId: runtime.id),
                upstream: upstream,
                sandboxed: sandboxed,
                allowlistedHeaders: Set(version.configuration.requestHeaderAllowlist.map { $0.lowercased() }),
                authorizer: version.configuration.customJWTAuthorizer,
                defaultReturnURL: try await store.workloadIdentity(name: runtime.workloadIdentityName)?.defaultReturnURL
            )
        } catch {
            logger.error("agent registry lookup failed", metadata: ["error": "\(error)"])
            throw AgentCoreError(.internalServer, "The agent registry is unavailable")
        }
    }
}
