public import Foundation
import GRDB
public import PortcullisCore

extension SQLiteStore: VaultRevocationStore {
    public func dueVaultRevocations(at now: Date, limit: Int) async throws -> [VaultRevocation] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT r.*, p.name AS provider_name, p.vendor AS provider_vendor, p.configuration AS provider_configuration,
                        p.sealed_secret AS provider_secret, p.created_at AS provider_created_at, p.updated_at AS provider_updated_at
                    FROM vault_revocation r JOIN vault_revocation_provider p ON p.id = r.provider_id
                    WHERE r.next_attempt_at <= ? ORDER BY r.next_attempt_at, r.id LIMIT ?
                    """,
                arguments: [now.storedValue, limit]
            ).map(Self.vaultRevocation(from:))
        }
    }

    public func claimVaultRevocation(id: Int64, expected: Date, until: Date) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE vault_revocation SET attempts = attempts + 1, next_attempt_at = ? WHERE id = ? AND next_attempt_at = ?",
                arguments: [until.storedValue, id, expected.storedValue]
            )
            return db.changesCount > 0
        }
    }

    public func retryVaultRevocation(id: Int64, at retryAt: Date, error: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE vault_revocation SET next_attempt_at = ?, last_error = ? WHERE id = ?", arguments: [retryAt.storedValue, error, id])
        }
    }

    public func deleteVaultRevocation(id: Int64) async throws {
        try await pool.write { db in
            guard let providerId = try String.fetchOne(db, sql: "SELECT provider_id FROM vault_revocation WHERE id = ?", arguments: [id]) else { return }
            try db.execute(sql: "DELETE FROM vault_revocation WHERE id = ?", arguments: [id])
            try db.execute(
                sql: "DELETE FROM vault_revocation_provider WHERE id = ? AND NOT EXISTS (SELECT 1 FROM vault_revocation WHERE provider_id = ?)",
                arguments: [providerId, providerId]
            )
        }
    }

    public func queueVaultRevocation(
        tokenId: String, provider: CredentialProviderRecord, flow: VaultToken.Flow, workload: String, sealedAccessToken: String,
        sealedRefreshToken: String?, reason: VaultRevocation.Reason, at date: Date
    ) async throws {
        let configuration = try Self.encodeJSON(provider.configuration)
        try await pool.write { db in
            // A copy the deletion left is as good as this one.
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO vault_revocation_provider (id, name, vendor, configuration, sealed_secret, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    provider.id, provider.name, provider.vendor, configuration, provider.sealedSecret, provider.createdAt.storedValue,
                    provider.updatedAt.storedValue,
                ]
            )
            try db.execute(
                sql: """
                    INSERT INTO vault_revocation (token_id, provider_id, flow, workload, access_sealed, refresh_sealed, reason, next_attempt_at, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    tokenId, provider.id, flow.rawValue, workload, sealedAccessToken, sealedRefreshToken, reason.rawValue, date.storedValue, date.storedValue,
                ]
            )
        }
    }

    public func vaultRevocationCount() async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM vault_revocation") ?? 0 }
    }

    private static func vaultRevocation(from row: Row) throws -> VaultRevocation {
        guard let flow = VaultToken.Flow(rawValue: row["flow"]), let reason = VaultRevocation.Reason(rawValue: row["reason"]) else {
            throw StoreError.corrupt("vault_revocation holds an unknown flow or reason")
        }
        let provider = CredentialProviderRecord(
            id: row["provider_id"], name: row["provider_name"], kind: .oauth2, vendor: row["provider_vendor"],
            configuration: try decodeJSON(JSONValue.self, row["provider_configuration"], column: "vault_revocation_provider.configuration"),
            sealedSecret: row["provider_secret"], createdAt: Date(stored: row["provider_created_at"]), updatedAt: Date(stored: row["provider_updated_at"])
        )
        return VaultRevocation(
            id: row["id"], tokenId: row["token_id"], provider: provider, flow: flow, workload: row["workload"], sealedAccessToken: row["access_sealed"],
            sealedRefreshToken: row["refresh_sealed"], reason: reason, attempts: row["attempts"], nextAttemptAt: Date(stored: row["next_attempt_at"]),
            lastError: row["last_error"], createdAt: Date(stored: row["created_at"])
        )
    }
}

extension SQLiteStore {
    /// Where each sealed vault value lives: its table, its column and the column naming its row.
    private static func location(of column: SealedVaultValue.Column) -> (table: String, column: String, row: String) {
        switch column {
        case .grantAccess: return ("vault_token", "access_sealed", "id")
        case .grantRefresh: return ("vault_token", "refresh_sealed", "id")
        case .consentVerifier: return ("consent_session", "verifier_sealed", "id")
        case .consentPending: return ("consent_session", "pending_sealed", "id")
        case .revocationAccess: return ("vault_revocation", "access_sealed", "token_id")
        case .revocationRefresh: return ("vault_revocation", "refresh_sealed", "token_id")
        case .revocationProviderSecret: return ("vault_revocation_provider", "sealed_secret", "id")
        }
    }

    public func sealedVaultValues() async throws -> [SealedVaultValue] {
        try await pool.read { db in
            var values: [SealedVaultValue] = []
            for column in SealedVaultValue.Column.allCases {
                let place = Self.location(of: column)
                let rows = try Row.fetchAll(
                    db, sql: "SELECT \(place.row) AS row_id, \(place.column) AS sealed FROM \(place.table) WHERE \(place.column) IS NOT NULL ORDER BY \(place.row)"
                )
                values += rows.map { SealedVaultValue(column: column, rowId: $0["row_id"], sealed: $0["sealed"]) }
            }
            return values
        }
    }

    public func replaceSealedVaultValue(_ value: SealedVaultValue, with sealed: String) async throws -> Bool {
        let place = Self.location(of: value.column)
        return try await pool.write { db in
            try db.execute(
                sql: "UPDATE \(place.table) SET \(place.column) = ? WHERE \(place.row) = ? AND \(place.column) = ?",
                arguments: [sealed, value.rowId, value.sealed]
            )
            return db.changesCount > 0
        }
    }
}
