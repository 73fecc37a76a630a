/// Everything the gateway persists, behind one value so that a deployment picks one backend for all of it.
public typealias PortcullisStore = AgentRegistryStore & APIKeyStore & IdempotencyStore & WorkloadIdentityStore & CredentialProviderStore & VaultTokenStore & VaultRevocationStore & StoreHealth

/// A cheap liveness probe of the backing store, for the readiness endpoint.
public protocol StoreHealth: Sendable {
    /// Throws when the store cannot answer a trivial query.
    func checkHealth() async throws
}
