public import Foundation
public import PortcullisCore
public import PortcullisStore

/// API-key lifecycle: issue, list, revoke. Used by the CLI and the gateway alike.
public struct APIKeyService: Sendable {
    /// A freshly issued key. `key` is the only copy of the secret: show it once.
    public struct IssuedKey: Sendable {
        public var record: APIKeyRecord
        public var key: String
    }

    private let store: any APIKeyStore
    private let clock: any WallClock
    private let authenticator: APIKeyAuthenticator?

    /// - Parameter authenticator: the running gateway's authenticator, whose cache a revocation must clear.
    public init(store: any APIKeyStore, clock: any WallClock = SystemWallClock(), authenticator: APIKeyAuthenticator? = nil) {
        self.store = store
        self.clock = clock
        self.authenticator = authenticator
    }

    /// Issues a key.
    /// - Parameters:
    ///   - name: a label for people (1–128 printable characters).
    ///   - agents: runtime names the key may invoke, or `["*"]` for all.
    ///   - administrator: whether the key may use the control plane.
    ///   - expiresAt: when the key stops working, if ever.
    public func issue(name: String, agents: [String], administrator: Bool, expiresAt: Date?) async throws -> IssuedKey {
        let now = clock.now()
        try CredentialIssuance.validate(name: name, agents: agents, administrator: administrator, expiresAt: expiresAt, now: now)
        let (id, key) = APIKeyFormat.generate()
        let record = APIKeyRecord(
            id: id,
            name: name,
            secretHash: APIKeyFormat.hash(key),
            agentScope: AgentScope(names: agents),
            isAdministrator: administrator,
            createdAt: now,
            expiresAt: expiresAt
        )
        try await store.insertAPIKey(record)
        return IssuedKey(record: record, key: key)
    }

    /// Every key, newest first.
    public func list() async throws -> [APIKeyRecord] {
        try await store.apiKeys()
    }

    /// Revokes a key by id. Returns `false` when there is no such key.
    public func revoke(id: String) async throws -> Bool {
        guard APIKeyFormat.isKeyId(id) else { return false }
        let revoked = try await store.revokeAPIKey(id: id, at: clock.now())
        authenticator?.evict(id: id)
        return revoked
    }
}
