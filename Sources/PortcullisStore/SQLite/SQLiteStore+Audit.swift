public import Foundation
import GRDB
public import PortcullisCore

extension SQLiteStore: AuditStore {
    @discardableResult
    public func appendAudit(_ events: [AuditEvent]) async throws -> [AuditRecord] {
        guard !events.isEmpty else { return [] }
        return try await pool.write { db in
            // Inside the write transaction: SQLite serialises writers, so two gateways on one file still chain.
            let last = try Row.fetchOne(db, sql: "SELECT sequence, hash FROM audit_record ORDER BY sequence DESC LIMIT 1")
            let anchor = try Row.fetchOne(db, sql: "SELECT sequence, hash FROM audit_anchor WHERE id = 1")
            var sequence: Int64 = last?["sequence"] ?? anchor?["sequence"] ?? 0
            var previous: String = last?["hash"] ?? anchor?["hash"] ?? AuditRecord.genesisHash
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO audit_record (sequence, at, kind, principal, agent_runtime_id, body, previous_hash, hash)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """
            )
            var records: [AuditRecord] = []
            for var event in events {
                sequence += 1
                event.time = Date(timeIntervalSince1970: (event.time.timeIntervalSince1970 * 1000).rounded() / 1000)
                let body = AuditChain.body(of: event, sequence: sequence)
                let hash = AuditChain.hash(previous: previous, body: body)
                try statement.execute(arguments: [
                    sequence, event.time.storedValue, event.kind.rawValue, event.principal, event.agentRuntimeId, body, previous, hash,
                ])
                records.append(AuditRecord(sequence: sequence, event: event, body: body, previousHash: previous, hash: hash))
                previous = hash
            }
            return records
        }
    }

    public func auditRecords(_ query: AuditQuery) async throws -> [AuditRecord] {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if !query.kinds.isEmpty {
            conditions.append("kind IN (\(Array(repeating: "?", count: query.kinds.count).joined(separator: ", ")))")
            for kind in query.kinds { arguments += [kind.rawValue] }
        }
        if let principal = query.principal {
            conditions.append("principal = ?")
            arguments += [principal]
        }
        if let agent = query.agentRuntimeId {
            conditions.append("agent_runtime_id = ?")
            arguments += [agent]
        }
        if let since = query.since {
            conditions.append("at >= ?")
            arguments += [since.storedValue]
        }
        if let until = query.until {
            conditions.append("at < ?")
            arguments += [until.storedValue]
        }
        if let after = query.after {
            conditions.append("sequence > ?")
            arguments += [after]
        }
        if let before = query.before {
            conditions.append("sequence < ?")
            arguments += [before]
        }
        arguments += [query.limit]
        let order = query.newestFirst ? "sequence DESC" : "sequence"
        let sql = "SELECT * FROM audit_record \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")) ORDER BY \(order) LIMIT ?"
        let bound = arguments
        return try await pool.read { db in
            try Row.fetchAll(db, sql: sql, arguments: bound).compactMap(Self.auditRecord)
        }
    }

    public func verifyAudit() async throws -> AuditVerification {
        try await pool.read { db in
            let anchor = try Row.fetchOne(db, sql: "SELECT sequence, hash FROM audit_anchor WHERE id = 1")
            var expectedSequence: Int64 = (anchor?["sequence"] ?? 0) + 1
            var previous: String = anchor?["hash"] ?? AuditRecord.genesisHash
            var problems: [String] = []
            var count = 0
            var first: Int64?
            var last: Int64?
            let cursor = try Row.fetchCursor(db, sql: "SELECT * FROM audit_record ORDER BY sequence")
            while let row = try cursor.next() {
                count += 1
                let sequence: Int64 = row["sequence"]
                first = first ?? sequence
                last = sequence
                func problem(_ text: String) { if problems.count < 100 { problems.append("record \(sequence): \(text)") } }
                if sequence != expectedSequence { problem("expected record \(expectedSequence) here: \(sequence - expectedSequence) missing or out of order") }
                let body: String = row["body"]
                let stored: String = row["hash"]
                let previousHash: String = row["previous_hash"]
                if previousHash != previous { problem("does not follow the record before it (previous hash differs)") }
                if AuditChain.hash(previous: previousHash, body: body) != stored { problem("its content was changed (hash differs)") }
                if let parsed = AuditChain.event(fromBody: body) {
                    let event = parsed.event
                    let at: Double = row["at"]
                    if parsed.sequence != sequence || event.kind.rawValue != row["kind"] as String || event.principal != row["principal"] as String?
                        || event.agentRuntimeId != row["agent_runtime_id"] as String? || abs(event.time.timeIntervalSince1970 - at) > 0.001
                    {
                        problem("its indexed columns differ from its content")
                    }
                } else {
                    problem("its content is not an audit event")
                }
                previous = stored
                expectedSequence = sequence + 1
            }
            return AuditVerification(records: count, firstSequence: first, lastSequence: last, headHash: previous, problems: problems)
        }
    }

    public func purgeAudit(before date: Date) async throws -> Int {
        try await pool.write { db in
            guard let newest = try Row.fetchOne(
                db, sql: "SELECT sequence, hash FROM audit_record WHERE at < ? ORDER BY sequence DESC LIMIT 1", arguments: [date.storedValue]
            ) else { return 0 }
            let sequence: Int64 = newest["sequence"]
            let hash: String = newest["hash"]
            try db.execute(sql: "DELETE FROM audit_record WHERE sequence <= ?", arguments: [sequence])
            let removed = db.changesCount
            try db.execute(sql: "INSERT OR REPLACE INTO audit_anchor (id, sequence, hash) VALUES (1, ?, ?)", arguments: [sequence, hash])
            return removed
        }
    }

    private static func auditRecord(_ row: Row) -> AuditRecord? {
        let body: String = row["body"]
        guard let parsed = AuditChain.event(fromBody: body) else { return nil }
        return AuditRecord(sequence: row["sequence"], event: parsed.event, body: body, previousHash: row["previous_hash"], hash: row["hash"])
    }
}
