public import Foundation
public import PortcullisCore

/// Persistence of agent runtimes, their immutable versions and their named endpoints.
///
/// Implementations make every multi-row change atomic: a new version and the `DEFAULT` endpoint that follows it
/// are written together or not at all.
public protocol AgentRegistryStore: Sendable {
    /// Stores a new runtime with its version 1, its `DEFAULT` endpoint and its workload identity (named
    /// ``AgentRuntime/workloadIdentityName``, removed with the runtime).
    /// - Throws: ``StoreError/conflict(_:)`` when the name is taken.
    func createRuntime(_ runtime: AgentRuntime, firstVersion: AgentRuntimeVersion, defaultEndpoint: AgentRuntimeEndpoint) async throws

    func runtime(id: String) async throws -> AgentRuntime?
    func runtime(named name: String) async throws -> AgentRuntime?

    /// Runtimes ordered by id, starting after `afterId`.
    func runtimes(after afterId: String?, limit: Int) async throws -> [AgentRuntime]

    func version(runtimeId: String, version: Int) async throws -> AgentRuntimeVersion?

    /// Versions of a runtime, newest first, starting below `beforeVersion`.
    func versions(runtimeId: String, before beforeVersion: Int?, limit: Int) async throws -> [AgentRuntimeVersion]

    /// Appends version `latest + 1` and points `DEFAULT` at it: live at once when `status` is `READY`; otherwise as
    /// its target, live only when ``finishDeployment(runtimeId:version:failureReason:at:)`` reports success (until
    /// then the runtime is `UPDATING` and `DEFAULT` keeps serving its live version).
    /// - Returns: the updated runtime and the new version, or `nil` when the runtime does not exist.
    func appendVersion(
        runtimeId: String,
        configuration: AgentRuntimeConfiguration,
        status: AgentRuntimeStatus,
        at date: Date
    ) async throws -> (AgentRuntime, AgentRuntimeVersion)?

    /// Records the outcome of deploying a `CREATING` version (or deploying a `CREATE_FAILED` one again): `READY` (`failureReason` nil) makes it live on every
    /// endpoint that targets it; a failure marks the version `CREATE_FAILED` and the runtime and those endpoints
    /// `CREATE_FAILED` (version 1) or `UPDATE_FAILED`, with the reason, leaving live versions as they were.
    /// - Returns: `false` when the version does not exist or is neither `CREATING` nor `CREATE_FAILED`.
    func finishDeployment(runtimeId: String, version: Int, failureReason: String?, at date: Date) async throws -> Bool

    /// Versions still `CREATING` (their deployment was interrupted), oldest first.
    func pendingDeployments() async throws -> [AgentRuntimeVersion]

    /// Removes a runtime with its versions and endpoints. Returns `false` when it did not exist.
    func deleteRuntime(id: String) async throws -> Bool

    func endpoint(runtimeId: String, name: String) async throws -> AgentRuntimeEndpoint?

    /// Endpoints of a runtime ordered by name, starting after `afterName`.
    func endpoints(runtimeId: String, after afterName: String?, limit: Int) async throws -> [AgentRuntimeEndpoint]

    /// - Throws: ``StoreError/conflict(_:)`` when the name is taken.
    func createEndpoint(_ endpoint: AgentRuntimeEndpoint) async throws

    /// Replaces an endpoint's mutable fields. Returns `false` when it did not exist.
    func updateEndpoint(_ endpoint: AgentRuntimeEndpoint) async throws -> Bool

    /// Returns `false` when the endpoint did not exist.
    func deleteEndpoint(runtimeId: String, name: String) async throws -> Bool

    /// Number of endpoints a runtime has, `DEFAULT` included.
    func endpointCount(runtimeId: String) async throws -> Int
}
