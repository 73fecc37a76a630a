public import Foundation
import GRDB
public import PortcullisCore

extension SQLiteStore: APIKeyStore {
    public func insertAPIKey(_ record: APIKeyRecord) async throws {
        let agents = try Self.encodeJSON(record.agentScope.names)
        try await pool.write { db in
            try Self.mapConstraintErrors("An API key with id \(record.id) already exists") {
                try db.execute(
                    sql: """
                        INSERT INTO api_key (id, name, secret_hash, agents, is_admin, created_at, expires_at, revoked_at, last_used_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        record.id, record.name, Data(record.secretHash), agents, record.isAdministrator,
                        record.createdAt.storedValue, record.expiresAt?.storedValue, record.revokedAt?.storedValue,
                        record.lastUsedAt?.storedValue,
                    ]
                )
            }
        }
    }

    public func apiKey(id: String) async throws -> APIKeyRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM api_key WHERE id = ?", arguments: [id]).map(Self.apiKey(from:))
        }
    }

    public func apiKeys() async throws -> [APIKeyRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM api_key ORDER BY created_at DESC, id").map(Self.apiKey(from:))
        }
    }

    public func revokeAPIKey(id: String, at date: Date) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE api_key SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?",
                arguments: [date.storedValue, id]
            )
            return db.changesCount > 0
        }
    }

    public func recordAPIKeyUse(ids: [String], at date: Date) async throws {
        guard !ids.isEmpty else { return }
        try await pool.write { db in
            for id in Set(ids) {
                try db.execute(sql: "UPDATE api_key SET last_used_at = ? WHERE id = ?", arguments: [date.storedValue, id])
            }
        }
    }

    private static func apiKey(from row: Row) throws -> APIKeyRecord {
        let hash: Data = row["secret_hash"]
        return APIKeyRecord(
            id: row["id"],
            name: row["name"],
            secretHash: [UInt8](hash),
            agentScope: AgentScope(names: try decodeJSON([String].self, row["agents"], column: "api_key.agents")),
            isAdministrator: row["is_admin"],
            createdAt: Date(stored: row["created_at"]),
            expiresAt: (row["expires_at"] as Double?).map(Date.init(stored:)),
            revokedAt: (row["revoked_at"] as Double?).map(Date.init(stored:)),
            lastUsedAt: (row["last_used_at"] as Double?).map(Date.init(stored:))
        )
    }
}
