public import Foundation
public import PortcullisCore
public import PortcullisStore

/// Access-key lifecycle: issue, list, revoke, re-wrap. Used by the CLI and the gateway alike.
public struct AccessKeyService: Sendable {
    /// A freshly issued key pair. `secret` is the only plain copy: show it once.
    public struct IssuedKey: Sendable {
        public var record: AccessKeyRecord
        public var secret: String
    }

    private let store: any AccessKeyStore
    private let keyRing: KeyRing
    private let clock: any WallClock
    private let authenticator: SigV4Authenticator?

    /// - Parameter authenticator: the running gateway's authenticator, whose cache a revocation must clear.
    public init(store: any AccessKeyStore, keyRing: KeyRing, clock: any WallClock = SystemWallClock(), authenticator: SigV4Authenticator? = nil) {
        self.store = store
        self.keyRing = keyRing
        self.clock = clock
        self.authenticator = authenticator
    }

    /// Issues a key pair; the secret is sealed before it is stored.
    /// - Parameters:
    ///   - agents: runtime names the key may invoke, or `["*"]` for all.
    ///   - administrator: whether the key may use the control plane.
    ///   - actForUsers: whether callers may name the end user they invoke for.
    /// - Throws: `ValidationException` for bad arguments; ``SecretsError`` when the key ring is sealed.
    public func issue(name: String, agents: [String], administrator: Bool, actForUsers: Bool, expiresAt: Date?) async throws -> IssuedKey {
        let now = clock.now()
        try CredentialIssuance.validate(name: name, agents: agents, administrator: administrator, expiresAt: expiresAt, now: now)
        let (id, secret) = AccessKeyFormat.generate()
        let record = AccessKeyRecord(
            id: id,
            name: name,
            sealedSecret: try keyRing.seal(Array(secret.utf8), context: AccessKeyRecord.sealingContext(id: id)),
            agentScope: AgentScope(names: agents),
            isAdministrator: administrator,
            mayActForUsers: actForUsers,
            createdAt: now,
            expiresAt: expiresAt
        )
        try await store.insertAccessKey(record)
        return IssuedKey(record: record, secret: secret)
    }

    /// Every key, newest first.
    public func list() async throws -> [AccessKeyRecord] {
        try await store.accessKeys()
    }

    /// Revokes a key by id. Returns `false` when there is no such key.
    public func revoke(id: String) async throws -> Bool {
        guard AccessKeyFormat.isKeyId(id) else { return false }
        let revoked = try await store.revokeAccessKey(id: id, at: clock.now())
        authenticator?.evict(id: id)
        return revoked
    }
}
