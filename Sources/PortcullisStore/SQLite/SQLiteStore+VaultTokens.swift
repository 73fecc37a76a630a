public import Foundation
import GRDB
public import PortcullisCore

extension SQLiteStore: VaultTokenStore {
    public func vaultToken(_ key: VaultToken.Key) async throws -> VaultToken? {
        try await pool.read { db in try Self.vaultToken(key, db: db) }
    }

    private static func vaultToken(_ key: VaultToken.Key, db: Database) throws -> VaultToken? {
        // The vault's hot read: a statement prepared once per connection.
        let statement = try db.cachedStatement(
            sql: "SELECT * FROM vault_token WHERE provider_id = ? AND flow = ? AND workload = ? AND user_key = ? AND scope_key = ?"
        )
        return try Row.fetchOne(statement, arguments: [key.providerId, key.flow.rawValue, key.workload, key.userKey, key.scopeKey]).map(vaultToken(from:))
    }

    public func vaultToken(id: String) async throws -> VaultToken? {
        try await pool.read { db in try Self.vaultToken(id: id, db: db) }
    }

    private static func vaultToken(id: String, db: Database) throws -> VaultToken? {
        try Row.fetchOne(try db.cachedStatement(sql: "SELECT * FROM vault_token WHERE id = ?"), arguments: [id]).map(vaultToken(from:))
    }

    public func vaultTokensExpiring(before date: Date, now: Date, latestRetry: Date, limit: Int) async throws -> [VaultToken] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM vault_token
                    WHERE flow = 'user' AND status = 'active' AND refresh_sealed IS NOT NULL AND access_expires_at < ?
                        AND (retry_at IS NULL OR retry_at <= ? OR retry_at > ?)
                    ORDER BY access_expires_at LIMIT ?
                    """,
                arguments: [date.storedValue, now.storedValue, latestRetry.storedValue, limit]
            ).map(Self.vaultToken(from:))
        }
    }

    public func putVaultToken(_ token: VaultToken) async throws -> VaultToken {
        let key = token.key
        return try await pool.write { db in
            // Keyed by (provider, flow, workload, user, scopes): a new consent replaces the grant, keeping its row id
            // (the sealed values were sealed for that id) and counting up its generation.
            try db.execute(
                sql: """
                    INSERT INTO vault_token (id, provider_id, flow, workload, user_key, scope_key, access_sealed, access_expires_at,
                        refresh_sealed, refresh_hash, status, generation, lease_owner, lease_until, last_error, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, ?)
                    ON CONFLICT (provider_id, flow, workload, user_key, scope_key) DO UPDATE SET
                        access_sealed = excluded.access_sealed, access_expires_at = excluded.access_expires_at,
                        refresh_sealed = excluded.refresh_sealed, refresh_hash = excluded.refresh_hash, status = excluded.status,
                        generation = vault_token.generation + 1, last_error = NULL, updated_at = excluded.updated_at,
                        \(Self.failuresCleared)
                    WHERE vault_token.id = excluded.id
                    """,
                arguments: [
                    token.id, key.providerId, key.flow.rawValue, key.workload, key.userKey, key.scopeKey, token.sealedAccessToken,
                    token.accessExpiresAt?.storedValue, token.sealedRefreshToken, token.refreshHash, token.status.rawValue, token.generation,
                    token.updatedAt.storedValue,
                ]
            )
            guard let stored = try Self.vaultToken(key, db: db) else { throw StoreError.corrupt("vault_token row vanished during its write") }
            guard stored.id == token.id else { throw StoreError.conflict("another grant holds this key under another id") }
            return stored
        }
    }

    public func insertVaultTokenIfAbsent(_ token: VaultToken) async throws -> VaultToken {
        let key = token.key
        return try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO vault_token (id, provider_id, flow, workload, user_key, scope_key, access_sealed, access_expires_at,
                        refresh_sealed, refresh_hash, status, generation, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    token.id, key.providerId, key.flow.rawValue, key.workload, key.userKey, key.scopeKey, token.sealedAccessToken,
                    token.accessExpiresAt?.storedValue, token.sealedRefreshToken, token.refreshHash, token.status.rawValue, token.generation,
                    token.updatedAt.storedValue,
                ]
            )
            guard let stored = try Self.vaultToken(key, db: db) else { throw StoreError.corrupt("vault_token row vanished during its write") }
            return stored
        }
    }

    public func acquireLease(tokenId: String, owner: String, until: Date, now: Date) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE vault_token SET lease_owner = ?, lease_until = ?
                    WHERE id = ? AND (lease_owner IS NULL OR lease_owner = ? OR lease_until < ?)
                    """,
                arguments: [owner, until.storedValue, tokenId, owner, now.storedValue]
            )
            return db.changesCount > 0
        }
    }

    public func releaseLease(tokenId: String, owner: String) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE vault_token SET lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?", arguments: [tokenId, owner]
            )
        }
    }

    public func commitRefresh(
        tokenId: String, consumedRefreshHash: String?, sealedAccessToken: String, accessExpiresAt: Date?, sealedRefreshToken: String?,
        refreshHash: String?, at date: Date
    ) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE vault_token SET access_sealed = ?, access_expires_at = ?, refresh_sealed = ?, refresh_hash = ?, status = 'active',
                        generation = generation + 1, lease_owner = NULL, lease_until = NULL, last_error = NULL, updated_at = ?,
                        \(Self.failuresCleared)
                    WHERE id = ? AND refresh_hash IS ?
                    """,
                arguments: [
                    sealedAccessToken, accessExpiresAt?.storedValue, sealedRefreshToken, refreshHash, date.storedValue, tokenId, consumedRefreshHash,
                ]
            )
            return db.changesCount > 0
        }
    }

    /// What a success (a refresh, a new consent) does to a run of failures.
    private static let failuresCleared = "refresh_failures = 0, first_failure_at = NULL, failure_days = 0, last_failure_day = NULL, retry_at = NULL"

    public func recordRefreshFailure(
        tokenId: String, owner: String, consumedRefreshHash: String?, error: String, retryAt: Date, at date: Date
    ) async throws -> VaultToken? {
        let day = VaultToken.Since.day(of: date)
        return try await pool.write { db in
            // A day counts once, and only when later than the last one counted: a clock set back never adds a day.
            try db.execute(
                sql: """
                    UPDATE vault_token SET refresh_failures = refresh_failures + 1, first_failure_at = COALESCE(first_failure_at, ?),
                        failure_days = failure_days + (CASE WHEN last_failure_day IS NULL OR last_failure_day < ? THEN 1 ELSE 0 END),
                        last_failure_day = MAX(COALESCE(last_failure_day, ?), ?), retry_at = ?, last_error = ?,
                        lease_owner = NULL, lease_until = NULL, updated_at = ?
                    WHERE id = ? AND refresh_hash IS ? AND lease_owner = ?
                    """,
                arguments: [date.storedValue, day, day, day, retryAt.storedValue, error, date.storedValue, tokenId, consumedRefreshHash, owner]
            )
            guard db.changesCount > 0 else { return nil }
            return try Self.vaultToken(id: tokenId, db: db)
        }
    }

    public func markNeedsReauthorization(tokenId: String, consumedRefreshHash: String?, error: String, at date: Date) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE vault_token SET status = 'needs_reauth', last_error = ?, lease_owner = NULL, lease_until = NULL, updated_at = ?
                    WHERE id = ? AND refresh_hash IS ?
                    """,
                arguments: [error, date.storedValue, tokenId, consumedRefreshHash]
            )
            return db.changesCount > 0
        }
    }

    public func beginRefresh(tokenId: String, owner: String, consumedRefreshHash: String?, at date: Date) async throws -> Int64 {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO refresh_journal (token_id, owner, consumed_refresh_hash, outcome, started_at) VALUES (?, ?, ?, 'in_flight', ?)",
                arguments: [tokenId, owner, consumedRefreshHash, date.storedValue]
            )
            return db.lastInsertedRowID
        }
    }

    public func finishRefresh(entry: Int64, outcome: String, at date: Date) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE refresh_journal SET outcome = ?, finished_at = ? WHERE id = ?", arguments: [outcome, date.storedValue, entry])
        }
    }

    public func refreshesInFlight(tokenId: String, except owner: String, since: Date) async throws -> Int {
        try await pool.read { db in
            try Int.fetchOne(
                db,
                sql: "SELECT COUNT(*) FROM refresh_journal WHERE token_id = ? AND outcome = 'in_flight' AND owner != ? AND started_at >= ?",
                arguments: [tokenId, owner, since.storedValue]
            ) ?? 0
        }
    }

    public func insertConsentSession(_ session: ConsentSession) async throws {
        let request = try Self.encodeJSON(session.request)
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO consent_session (id, provider_id, workload, user_key, request, status, state_hash, browser_nonce_hash,
                        verifier_sealed, pending_sealed, error, created_at, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    session.id, session.providerId, session.workload, session.userKey, request, session.status.rawValue, session.stateHash,
                    session.browserNonceHash, session.sealedVerifier, session.sealedPendingToken, session.error, session.createdAt.storedValue,
                    session.expiresAt.storedValue,
                ]
            )
        }
    }

    public func consentSession(id: String) async throws -> ConsentSession? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM consent_session WHERE id = ?", arguments: [id]).map(Self.consentSession(from:))
        }
    }

    public func consentSession(stateHash: String) async throws -> ConsentSession? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM consent_session WHERE state_hash = ?", arguments: [stateHash]).map(Self.consentSession(from:))
        }
    }

    public func updateConsentSession(_ session: ConsentSession, expected: ConsentSession.Status) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE consent_session SET status = ?, state_hash = ?, browser_nonce_hash = ?, verifier_sealed = ?, pending_sealed = ?,
                        error = ?, expires_at = ?
                    WHERE id = ? AND status = ?
                    """,
                arguments: [
                    session.status.rawValue, session.stateHash, session.browserNonceHash, session.sealedVerifier, session.sealedPendingToken,
                    session.error, session.expiresAt.storedValue, session.id, expected.rawValue,
                ]
            )
            return db.changesCount > 0
        }
    }

    public func deleteExpiredConsentSessions(before date: Date) async throws -> Int {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM consent_session WHERE expires_at < ?", arguments: [date.storedValue])
            return db.changesCount
        }
    }

    public func purgeRefreshJournal(startedBefore date: Date) async throws -> Int {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM refresh_journal WHERE started_at < ?", arguments: [date.storedValue])
            return db.changesCount
        }
    }

    private static func vaultToken(from row: Row) throws -> VaultToken {
        guard let flow = VaultToken.Flow(rawValue: row["flow"]), let status = VaultToken.Status(rawValue: row["status"]) else {
            throw StoreError.corrupt("vault_token holds an unknown flow or status")
        }
        var key = VaultToken.Key(providerId: row["provider_id"], flow: flow, workload: row["workload"], userKey: row["user_key"], scopes: [])
        key.scopeKey = row["scope_key"]
        return VaultToken(
            id: row["id"],
            key: key,
            sealedAccessToken: row["access_sealed"],
            accessExpiresAt: (row["access_expires_at"] as Double?).map(Date.init(stored:)),
            sealedRefreshToken: row["refresh_sealed"],
            refreshHash: row["refresh_hash"],
            status: status,
            generation: row["generation"],
            leaseOwner: row["lease_owner"],
            leaseUntil: (row["lease_until"] as Double?).map(Date.init(stored:)),
            lastError: row["last_error"],
            updatedAt: Date(stored: row["updated_at"]),
            refreshFailures: VaultToken.Since(
                count: row["refresh_failures"], firstAt: (row["first_failure_at"] as Double?).map(Date.init(stored:)), days: row["failure_days"],
                lastDay: row["last_failure_day"]
            ),
            retryAt: (row["retry_at"] as Double?).map(Date.init(stored:))
        )
    }

    private static func consentSession(from row: Row) throws -> ConsentSession {
        guard let status = ConsentSession.Status(rawValue: row["status"]) else { throw StoreError.corrupt("consent_session holds an unknown status") }
        return ConsentSession(
            id: row["id"],
            providerId: row["provider_id"],
            workload: row["workload"],
            userKey: row["user_key"],
            request: try decodeJSON(ConsentSession.Request.self, row["request"], column: "consent_session.request"),
            status: status,
            stateHash: row["state_hash"],
            browserNonceHash: row["browser_nonce_hash"],
            sealedVerifier: row["verifier_sealed"],
            sealedPendingToken: row["pending_sealed"],
            error: row["error"],
            createdAt: Date(stored: row["created_at"]),
            expiresAt: Date(stored: row["expires_at"])
        )
    }
}
