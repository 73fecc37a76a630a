public import Foundation
import GRDB

extension SQLiteStore: BrowserSessionStore {
    public func insertBrowserSession(_ record: BrowserSessionRecord) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO browser_session (id_hash, principal, created_at, expires_at) VALUES (?, ?, ?, ?)",
                arguments: [Data(record.idHash), Data(record.principal), record.createdAt.storedValue, record.expiresAt.storedValue]
            )
        }
    }

    public func browserSession(idHash: [UInt8]) async throws -> BrowserSessionRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM browser_session WHERE id_hash = ?", arguments: [Data(idHash)]).map { row in
                let hash: Data = row["id_hash"]
                let principal: Data = row["principal"]
                return BrowserSessionRecord(
                    idHash: [UInt8](hash),
                    principal: [UInt8](principal),
                    createdAt: Date(stored: row["created_at"]),
                    expiresAt: Date(stored: row["expires_at"])
                )
            }
        }
    }

    public func deleteBrowserSession(idHash: [UInt8]) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM browser_session WHERE id_hash = ?", arguments: [Data(idHash)])
        }
    }

    public func purgeBrowserSessions(expiredBefore date: Date) async throws -> Int {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM browser_session WHERE expires_at < ?", arguments: [date.storedValue])
            return db.changesCount
        }
    }
}
