public import Foundation
public import Logging
public import PortcullisCore
public import PortcullisStore

/// Authenticates Portcullis API keys against the store, with a short-lived cache so the hot path does not touch
/// the database.
///
/// The cache keeps records (hashes, never keys) for ``AuthConfiguration/apiKeyCacheSeconds``, including "no such
/// key" answers so random ids cannot hammer the store. Revocations made through ``APIKeyService`` in this process
/// evict at once; those made by another process apply when the entry expires.
public final class APIKeyAuthenticator: InboundAuthenticator {
    private let store: any APIKeyStore
    private let clock: any WallClock
    private let cache: CredentialRecordCache<APIKeyRecord>
    private let logger: Logger

    public init(
        store: any APIKeyStore,
        clock: any WallClock = SystemWallClock(),
        cacheLifetime: TimeInterval,
        maxCacheEntries: Int = 10_000,
        logger: Logger
    ) {
        self.store = store
        self.clock = clock
        self.cache = CredentialRecordCache(lifetime: cacheLifetime, maxEntries: maxCacheEntries)
        self.logger = logger
    }

    public func handles(_ credential: InboundCredential) -> Bool {
        if case .apiKey = credential { return true }
        return false
    }

    public func authenticate(_ credential: InboundCredential) async throws(AuthenticationError) -> Principal {
        guard case .apiKey(let key) = credential else { throw AuthenticationError(.unsupportedCredential) }
        guard let id = APIKeyFormat.keyId(of: key) else { throw AuthenticationError(.malformed) }
        let now = clock.now()
        let record = try await record(id: id, now: now)
        guard let record else { throw AuthenticationError(.unknownKey) }
        guard ConstantTime.equals(APIKeyFormat.hash(key), record.secretHash) else {
            throw AuthenticationError(.invalidSecret)
        }
        if record.revokedAt != nil { throw AuthenticationError(.revoked) }
        if let expiresAt = record.expiresAt, expiresAt <= now { throw AuthenticationError(.expired) }
        cache.markUsed(id)
        return Self.principal(for: record)
    }

    /// The principal an API key stands for.
    public static func principal(for record: APIKeyRecord) -> Principal {
        Principal(
            method: .apiKey,
            id: "apikey:\(record.id)",
            displayName: record.name,
            agentScope: record.agentScope,
            isAdministrator: record.isAdministrator
        )
    }

    /// Forgets a cached key, so a revocation or change applies to the next request.
    public func evict(id: String) {
        cache.evict(id: id)
    }

    /// Writes the last-used time of every key used since the previous flush. Called periodically.
    public func flushUsage() async {
        do {
            try await store.recordAPIKeyUse(ids: cache.takeUsed(), at: clock.now())
        } catch {
            logger.warning("could not record API key use", metadata: ["error": "\(error)"])
        }
    }

    private func record(id: String, now: Date) async throws(AuthenticationError) -> APIKeyRecord? {
        do {
            return try await cache.record(id: id, now: now) { [store] in try await store.apiKey(id: id) }
        } catch {
            // Fail closed: without the store there is no way to know the key is still valid.
            logger.error("API key lookup failed", metadata: ["error": "\(error)"])
            throw AuthenticationError(.unknownKey)
        }
    }
}
