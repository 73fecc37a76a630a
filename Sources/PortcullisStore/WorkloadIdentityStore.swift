public import Foundation
public import PortcullisCore

/// Persistence of workload identities. A runtime's own identity is written with the runtime (see
/// ``AgentRegistryStore/createRuntime(_:firstVersion:defaultEndpoint:)``) and goes with it.
public protocol WorkloadIdentityStore: Sendable {
    /// - Throws: ``StoreError/conflict(_:)`` when the name is taken.
    func insertWorkloadIdentity(_ identity: WorkloadIdentity) async throws
    func workloadIdentity(name: String) async throws -> WorkloadIdentity?
    /// Identities ordered by name, starting after `afterName`.
    func workloadIdentities(after afterName: String?, limit: Int) async throws -> [WorkloadIdentity]
    /// Replaces the allowed return URLs. Returns the updated identity, or `nil` when it does not exist.
    func updateWorkloadIdentity(name: String, allowedReturnURLs: [String], at date: Date) async throws -> WorkloadIdentity?
    /// Removes an identity that no runtime owns. Returns `false` when there was none.
    func deleteWorkloadIdentity(name: String) async throws -> Bool
}

/// Persistence of credential providers (their secrets sealed by the key ring).
public protocol CredentialProviderStore: Sendable {
    /// - Throws: ``StoreError/conflict(_:)`` when a provider of that kind already has the name.
    func insertCredentialProvider(_ record: CredentialProviderRecord) async throws
    func credentialProvider(kind: CredentialProviderRecord.Kind, name: String) async throws -> CredentialProviderRecord?
    func credentialProvider(id: String) async throws -> CredentialProviderRecord?
    /// Providers of a kind ordered by name, starting after `afterName`.
    func credentialProviders(kind: CredentialProviderRecord.Kind, after afterName: String?, limit: Int) async throws -> [CredentialProviderRecord]
    /// Replaces a provider's configuration, secret and update time, keeping its id. Returns `false` when it does not exist.
    func updateCredentialProvider(_ record: CredentialProviderRecord) async throws -> Bool
    /// Returns `false` when there was none.
    func deleteCredentialProvider(kind: CredentialProviderRecord.Kind, name: String) async throws -> Bool
    /// Replaces only the sealed secret of the provider with `id`, if it still holds `expected` (key rotation).
    /// Returns `false` when the row changed meanwhile (it was updated, or sealed anew).
    func replaceSealedSecret(providerId: String, expected: String, with sealedSecret: String) async throws -> Bool
    /// Every provider's id and sealed secret, for re-wrapping.
    func sealedProviderSecrets() async throws -> [(id: String, sealedSecret: String)]
}
