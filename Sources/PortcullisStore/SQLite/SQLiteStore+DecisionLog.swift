public import Foundation
import GRDB

extension SQLiteStore: DecisionLogStore {
    public func insertDecisions(_ records: [AuthorizationDecisionRecord]) async throws {
        guard !records.isEmpty else { return }
        try await pool.write { db in
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO authorization_decision
                        (request_id, decided_at, principal, action, resource, allowed, policies, errors, failed_forbid,
                         policy_set, request, entities)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            )
            for record in records {
                try statement.execute(arguments: [
                    record.requestId, record.decidedAt.storedValue, record.principal, record.action, record.resource,
                    record.allowed, try Self.encodeJSON(record.policies), try Self.encodeJSON(record.errors), record.deniedByFailedForbid,
                    record.policySet, record.request, record.entities,
                ])
            }
        }
    }

    public func decisions(requestId: String) async throws -> [AuthorizationDecisionRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM authorization_decision WHERE request_id = ? ORDER BY id", arguments: [requestId])
                .map { try Self.decisionRecord($0) }
        }
    }

    public func recentDecisions(limit: Int, deniedOnly: Bool) async throws -> [AuthorizationDecisionRecord] {
        try await pool.read { db in
            let filter = deniedOnly ? "WHERE allowed = 0" : ""
            return try Row.fetchAll(db, sql: "SELECT * FROM authorization_decision \(filter) ORDER BY id DESC LIMIT ?", arguments: [limit])
                .map { try Self.decisionRecord($0) }
        }
    }

    public func purgeDecisions(before date: Date, keeping policySet: String) async throws -> Int {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM authorization_decision WHERE decided_at < ?", arguments: [date.storedValue])
            let removed = db.changesCount
            try db.execute(
                sql: """
                    DELETE FROM policy_set WHERE digest != ?
                    AND NOT EXISTS (SELECT 1 FROM authorization_decision WHERE policy_set = policy_set.digest)
                    """,
                arguments: [policySet]
            )
            return removed
        }
    }

    public func savePolicySet(_ record: PolicySetRecord) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO policy_set (digest, files, activated_at) VALUES (?, ?, ?)",
                arguments: [record.digest, record.files, record.activatedAt.storedValue]
            )
        }
    }

    public func policySet(digest: String) async throws -> PolicySetRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM policy_set WHERE digest = ?", arguments: [digest]).map { row in
                PolicySetRecord(digest: row["digest"], files: row["files"], activatedAt: Date(stored: row["activated_at"]))
            }
        }
    }

    private static func decisionRecord(_ row: Row) throws -> AuthorizationDecisionRecord {
        AuthorizationDecisionRecord(
            requestId: row["request_id"],
            decidedAt: Date(stored: row["decided_at"]),
            principal: row["principal"],
            action: row["action"],
            resource: row["resource"],
            allowed: row["allowed"],
            policies: try decodeJSON([String].self, row["policies"], column: "authorization_decision.policies"),
            errors: try decodeJSON([String].self, row["errors"], column: "authorization_decision.errors"),
            deniedByFailedForbid: row["failed_forbid"],
            policySet: row["policy_set"],
            request: row["request"],
            entities: row["entities"]
        )
    }
}
