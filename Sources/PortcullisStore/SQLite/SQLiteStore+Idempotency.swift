public import Foundation
import GRDB

extension SQLiteStore: IdempotencyStore {
    public func idempotentResponse(operation: String, clientToken: String, notBefore: Date) async throws -> IdempotentResponse? {
        try await pool.read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: "SELECT * FROM idempotent_response WHERE operation = ? AND client_token = ? AND created_at >= ?",
                    arguments: [operation, clientToken, notBefore.storedValue]
                )
            else { return nil }
            let fingerprint: Data = row["fingerprint"]
            let body: Data = row["body"]
            return IdempotentResponse(
                fingerprint: [UInt8](fingerprint),
                status: row["status"],
                body: [UInt8](body),
                createdAt: Date(stored: row["created_at"])
            )
        }
    }

    public func storeIdempotentResponse(_ response: IdempotentResponse, operation: String, clientToken: String) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO idempotent_response (operation, client_token, fingerprint, status, body, created_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    operation, clientToken, Data(response.fingerprint), response.status, Data(response.body),
                    response.createdAt.storedValue,
                ]
            )
        }
    }

    public func purgeIdempotentResponses(before date: Date) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM idempotent_response WHERE created_at < ?", arguments: [date.storedValue])
        }
    }
}
