public import Foundation
import GRDB
public import PortcullisCore

extension SQLiteStore: AccessKeyStore {
    public func insertAccessKey(_ record: AccessKeyRecord) async throws {
        let agents = try Self.encodeJSON(record.agentScope.names)
        try await pool.write { db in
            try Self.mapConstraintErrors("An access key with id \(record.id) already exists") {
                try db.execute(
                    sql: """
                        INSERT INTO access_key (id, name, sealed_secret, agents, is_admin, acts_for_users, created_at, expires_at,
                            revoked_at, last_used_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        record.id, record.name, record.sealedSecret, agents, record.isAdministrator, record.mayActForUsers,
                        record.createdAt.storedValue, record.expiresAt?.storedValue, record.revokedAt?.storedValue,
                        record.lastUsedAt?.storedValue,
                    ]
                )
            }
        }
    }

    public func accessKey(id: String) async throws -> AccessKeyRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM access_key WHERE id = ?", arguments: [id]).map(Self.accessKey(from:))
        }
    }

    public func accessKeys() async throws -> [AccessKeyRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM access_key ORDER BY created_at DESC, id").map(Self.accessKey(from:))
        }
    }

    public func revokeAccessKey(id: String, at date: Date) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "UPDATE access_key SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?", arguments: [date.storedValue, id])
            return db.changesCount > 0
        }
    }

    public func recordAccessKeyUse(ids: [String], at date: Date) async throws {
        guard !ids.isEmpty else { return }
        try await pool.write { db in
            for id in Set(ids) {
                try db.execute(sql: "UPDATE access_key SET last_used_at = ? WHERE id = ?", arguments: [date.storedValue, id])
            }
        }
    }

    public func updateAccessKeySecret(id: String, sealedSecret: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE access_key SET sealed_secret = ? WHERE id = ?", arguments: [sealedSecret, id])
        }
    }

    private static func accessKey(from row: Row) throws -> AccessKeyRecord {
        AccessKeyRecord(
            id: row["id"],
            name: row["name"],
            sealedSecret: row["sealed_secret"],
            agentScope: AgentScope(names: try decodeJSON([String].self, row["agents"], column: "access_key.agents")),
            isAdministrator: row["is_admin"],
            mayActForUsers: row["acts_for_users"],
            createdAt: Date(stored: row["created_at"]),
            expiresAt: (row["expires_at"] as Double?).map(Date.init(stored:)),
            revokedAt: (row["revoked_at"] as Double?).map(Date.init(stored:)),
            lastUsedAt: (row["last_used_at"] as Double?).map(Date.init(stored:))
        )
    }
}
