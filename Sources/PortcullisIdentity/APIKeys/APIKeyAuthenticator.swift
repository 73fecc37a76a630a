public import Foundation
public import Logging
public import PortcullisCore
public import PortcullisStore
import Synchronization

/// Authenticates Portcullis API keys against the store, with a short-lived cache so the hot path does not touch
/// the database.
///
/// The cache keeps records (hashes, never keys) for ``AuthConfiguration/apiKeyCacheSeconds``, including "no such
/// key" answers so random ids cannot hammer the store. Revocations made through ``APIKeyService`` in this process
/// evict at once; those made by another process apply when the entry expires.
public final class APIKeyAuthenticator: InboundAuthenticator {
    private struct CacheEntry {
        var record: APIKeyRecord?
        var fetchedAt: Date
    }

    private let store: any APIKeyStore
    private let clock: any WallClock
    private let cacheLifetime: TimeInterval
    private let maxCacheEntries: Int
    private let logger: Logger
    private let cache = Mutex<[String: CacheEntry]>([:])
    private let usedSinceFlush = Mutex<Set<String>>([])

    public init(
        store: any APIKeyStore,
        clock: any WallClock = SystemWallClock(),
        cacheLifetime: TimeInterval,
        maxCacheEntries: Int = 10_000,
        logger: Logger
    ) {
        self.store = store
        self.clock = clock
        self.cacheLifetime = cacheLifetime
        self.maxCacheEntries = maxCacheEntries
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
        usedSinceFlush.withLock { _ = $0.insert(id) }
        return Self.principal(for: record)
    }

    private static func principal(for record: APIKeyRecord) -> Principal {
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
        _ = cache.withLock { $0.removeValue(forKey: id) }
    }

    /// Writes the last-used time of every key used since the previous flush. Called periodically.
    public func flushUsage() async {
        let ids = usedSinceFlush.withLock { used -> [String] in
            defer { used.removeAll(keepingCapacity: true) }
            return Array(used)
        }
        do {
            try await store.recordAPIKeyUse(ids: ids, at: clock.now())
        } catch {
            logger.warning("could not record API key use", metadata: ["error": "\(error)"])
        }
    }

    private func record(id: String, now: Date) async throws(AuthenticationError) -> APIKeyRecord? {
        let cached = cache.withLock { $0[id] }
        if let cached, now.timeIntervalSince(cached.fetchedAt) < cacheLifetime {
            return cached.record
        }
        let record: APIKeyRecord?
        do {
            record = try await store.apiKey(id: id)
        } catch {
            // Fail closed: without the store there is no way to know the key is still valid.
            logger.error("API key lookup failed", metadata: ["error": "\(error)"])
            throw AuthenticationError(.unknownKey)
        }
        cache.withLock { cache in
            if cache.count >= maxCacheEntries {
                cache.removeAll(keepingCapacity: true)
            }
            cache[id] = CacheEntry(record: record, fetchedAt: now)
        }
        return record
    }
}
