public import Foundation
import GRDB
public import PortcullisCore

extension SQLiteStore: SessionUsageStore {
    public func saveSessions(_ records: [SessionRecord]) async throws {
        guard !records.isEmpty else { return }
        try await pool.write { db in
            // Records arrive in order, but a late checkpoint must still not undo an end.
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO runtime_session
                        (sandbox_id, runtime_id, session_id, version, owner, driver, started_at, ended_at, end_reason, updated_at,
                         cpu_seconds, memory_gb_seconds, peak_memory_bytes, invocations, bytes_in, bytes_out)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (sandbox_id) DO UPDATE SET
                        ended_at = excluded.ended_at, end_reason = excluded.end_reason, updated_at = excluded.updated_at,
                        cpu_seconds = excluded.cpu_seconds, memory_gb_seconds = excluded.memory_gb_seconds,
                        peak_memory_bytes = excluded.peak_memory_bytes, invocations = excluded.invocations,
                        bytes_in = excluded.bytes_in, bytes_out = excluded.bytes_out
                    WHERE runtime_session.ended_at IS NULL AND excluded.updated_at >= runtime_session.updated_at
                    """
            )
            for record in records {
                let usage = record.usage
                try statement.execute(arguments: [
                    record.sandboxId, record.runtimeId, record.sessionId, record.version, record.ownerId, record.driver,
                    record.startedAt.storedValue, record.endedAt?.storedValue, record.endReason, record.updatedAt.storedValue,
                    usage.cpuSeconds, usage.memoryGBSeconds, usage.peakMemoryBytes, usage.invocations, usage.bytesIn, usage.bytesOut,
                ])
            }
        }
    }

    public func closeOpenSessions(reason: String) async throws -> Int {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE runtime_session SET ended_at = updated_at, end_reason = ? WHERE ended_at IS NULL",
                arguments: [reason]
            )
            return db.changesCount
        }
    }

    public func sessions(_ query: SessionQuery) async throws -> [SessionRecord] {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let runtimeId = query.runtimeId {
            conditions.append("runtime_id = ?")
            arguments += [runtimeId]
        }
        if let ownerId = query.ownerId {
            conditions.append("owner = ?")
            arguments += [ownerId]
        }
        switch query.state {
        case .active: conditions.append("ended_at IS NULL")
        case .ended: conditions.append("ended_at IS NOT NULL")
        case .all: break
        }
        if let since = query.since {
            conditions.append("started_at >= ?")
            arguments += [since.storedValue]
        }
        if let after = query.after {
            conditions.append("(started_at < ? OR (started_at = ? AND sandbox_id < ?))")
            arguments += [after.startedAt.storedValue, after.startedAt.storedValue, after.sandboxId]
        }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        arguments += [query.limit]
        let sql = "SELECT * FROM runtime_session \(filter) ORDER BY started_at DESC, sandbox_id DESC LIMIT ?"
        let bound = arguments
        return try await pool.read { db in
            try Row.fetchAll(db, sql: sql, arguments: bound).map(Self.sessionRecord)
        }
    }

    public func latestSession(runtimeId: String, sessionId: String) async throws -> SessionRecord? {
        try await pool.read { db in
            try Row.fetchOne(
                db,
                sql: "SELECT * FROM runtime_session WHERE runtime_id = ? AND session_id = ? ORDER BY started_at DESC LIMIT 1",
                arguments: [runtimeId, sessionId]
            ).map(Self.sessionRecord)
        }
    }

    public func usageSummary(by grouping: UsageSummary.Grouping, since: Date, until: Date) async throws -> [UsageSummary] {
        let column = grouping == .agent ? "runtime_id" : "owner"
        return try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT \(column) AS key, COUNT(*) AS sessions, SUM(cpu_seconds) AS cpu, SUM(memory_gb_seconds) AS memory,
                        MAX(peak_memory_bytes) AS peak, SUM(invocations) AS invocations, SUM(bytes_in) AS bytes_in,
                        SUM(bytes_out) AS bytes_out
                    FROM runtime_session WHERE started_at >= ? AND started_at < ?
                    GROUP BY \(column) ORDER BY cpu DESC, key
                    """,
                arguments: [since.storedValue, until.storedValue]
            ).map { row in
                UsageSummary(
                    key: row["key"],
                    sessions: row["sessions"],
                    usage: SessionUsage(
                        cpuSeconds: row["cpu"], memoryGBSeconds: row["memory"], peakMemoryBytes: row["peak"], invocations: row["invocations"],
                        bytesIn: row["bytes_in"], bytesOut: row["bytes_out"]
                    )
                )
            }
        }
    }

    public func purgeSessions(endedBefore date: Date) async throws -> Int {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM runtime_session WHERE ended_at IS NOT NULL AND ended_at < ?", arguments: [date.storedValue])
            return db.changesCount
        }
    }

    private static func sessionRecord(_ row: Row) -> SessionRecord {
        SessionRecord(
            sandboxId: row["sandbox_id"], runtimeId: row["runtime_id"], sessionId: row["session_id"], version: row["version"],
            ownerId: row["owner"], driver: row["driver"], startedAt: Date(stored: row["started_at"]),
            endedAt: (row["ended_at"] as Double?).map(Date.init(stored:)), endReason: row["end_reason"],
            updatedAt: Date(stored: row["updated_at"]),
            usage: SessionUsage(
                cpuSeconds: row["cpu_seconds"], memoryGBSeconds: row["memory_gb_seconds"], peakMemoryBytes: row["peak_memory_bytes"],
                invocations: row["invocations"], bytesIn: row["bytes_in"], bytesOut: row["bytes_out"]
            )
        )
    }
}
