public import Foundation
import GRDB
public import PortcullisCore

extension SQLiteStore: AgentRegistryStore {
    public func createRuntime(
        _ runtime: AgentRuntime,
        firstVersion: AgentRuntimeVersion,
        defaultEndpoint: AgentRuntimeEndpoint
    ) async throws {
        let tags = try Self.encodeJSON(runtime.tags)
        let configuration = try Self.encodeJSON(firstVersion.configuration)
        try await pool.write { db in
            try Self.mapConstraintErrors("An agent runtime named \(runtime.name) already exists") {
                try db.execute(
                    sql: """
                        INSERT INTO agent_runtime
                        (id, name, latest_version, status, failure_reason, created_at, last_updated_at, tags, owner)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        runtime.id, runtime.name, runtime.latestVersion, runtime.status.rawValue, runtime.failureReason,
                        runtime.createdAt.storedValue, runtime.lastUpdatedAt.storedValue, tags, runtime.owner.rawValue,
                    ]
                )
            }
            try Self.insertVersion(firstVersion, configuration: configuration, db: db)
            try Self.insertEndpoint(defaultEndpoint, db: db)
            // The runtime's own workload identity, removed with it (ON DELETE CASCADE).
            try Self.insertWorkloadIdentity(
                WorkloadIdentity(name: runtime.workloadIdentityName, runtimeId: runtime.id, createdAt: runtime.createdAt, updatedAt: runtime.createdAt),
                db: db
            )
        }
    }

    public func runtime(id: String) async throws -> AgentRuntime? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM agent_runtime WHERE id = ?", arguments: [id]).map(Self.runtime(from:))
        }
    }

    public func runtime(named name: String) async throws -> AgentRuntime? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM agent_runtime WHERE name = ?", arguments: [name]).map(Self.runtime(from:))
        }
    }

    public func runtimes(after afterId: String?, limit: Int) async throws -> [AgentRuntime] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM agent_runtime WHERE id > ? ORDER BY id LIMIT ?",
                arguments: [afterId ?? "", limit]
            ).map(Self.runtime(from:))
        }
    }

    public func version(runtimeId: String, version: Int) async throws -> AgentRuntimeVersion? {
        try await pool.read { db in
            try Row.fetchOne(
                db,
                sql: "SELECT * FROM agent_runtime_version WHERE runtime_id = ? AND version = ?",
                arguments: [runtimeId, version]
            ).map(Self.version(from:))
        }
    }

    public func versions(runtimeId: String, before beforeVersion: Int?, limit: Int) async throws -> [AgentRuntimeVersion] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM agent_runtime_version WHERE runtime_id = ? AND version < ? ORDER BY version DESC LIMIT ?",
                arguments: [runtimeId, beforeVersion ?? Int.max, limit]
            ).map(Self.version(from:))
        }
    }

    public func appendVersion(
        runtimeId: String,
        configuration: AgentRuntimeConfiguration,
        status: AgentRuntimeStatus,
        at date: Date
    ) async throws -> (AgentRuntime, AgentRuntimeVersion)? {
        let encoded = try Self.encodeJSON(configuration)
        return try await pool.write { db -> (AgentRuntime, AgentRuntimeVersion)? in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM agent_runtime WHERE id = ?", arguments: [runtimeId]) else {
                return nil
            }
            var runtime = try Self.runtime(from: row)
            let isLive = status == .ready
            runtime.latestVersion += 1
            runtime.status = isLive ? .ready : .updating
            runtime.failureReason = nil
            runtime.lastUpdatedAt = date
            let version = AgentRuntimeVersion(
                runtimeId: runtimeId,
                version: runtime.latestVersion,
                configuration: configuration,
                status: status,
                createdAt: date
            )
            try Self.insertVersion(version, configuration: encoded, db: db)
            try db.execute(
                sql: """
                    UPDATE agent_runtime SET latest_version = ?, status = ?, failure_reason = NULL, last_updated_at = ?
                    WHERE id = ?
                    """,
                arguments: [runtime.latestVersion, runtime.status.rawValue, date.storedValue, runtimeId]
            )
            try db.execute(
                sql: """
                    UPDATE agent_runtime_endpoint
                    SET live_version = CASE WHEN ? THEN ? ELSE live_version END, target_version = ?, status = ?,
                        failure_reason = NULL, last_updated_at = ?
                    WHERE runtime_id = ? AND name = ?
                    """,
                arguments: [
                    isLive, runtime.latestVersion, runtime.latestVersion, runtime.status.rawValue, date.storedValue, runtimeId,
                    AgentRuntimeEndpoint.defaultName,
                ]
            )
            return (runtime, version)
        }
    }

    public func finishDeployment(runtimeId: String, version: Int, failureReason: String?, at date: Date) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE agent_runtime_version SET status = ?, failure_reason = ?
                    WHERE runtime_id = ? AND version = ? AND status IN (?, ?)
                    """,
                arguments: [
                    (failureReason == nil ? AgentRuntimeStatus.ready : .createFailed).rawValue, failureReason, runtimeId, version,
                    AgentRuntimeStatus.creating.rawValue, AgentRuntimeStatus.createFailed.rawValue,
                ]
            )
            guard db.changesCount > 0 else { return false }
            let failed = (version == 1 ? AgentRuntimeStatus.createFailed : .updateFailed).rawValue
            try db.execute(
                sql: """
                    UPDATE agent_runtime SET status = ?, failure_reason = ?, last_updated_at = ?
                    WHERE id = ? AND latest_version = ?
                    """,
                arguments: [failureReason == nil ? AgentRuntimeStatus.ready.rawValue : failed, failureReason, date.storedValue, runtimeId, version]
            )
            if failureReason == nil {
                try db.execute(
                    sql: """
                        UPDATE agent_runtime_endpoint SET live_version = target_version, status = ?, failure_reason = NULL, last_updated_at = ?
                        WHERE runtime_id = ? AND target_version = ?
                        """,
                    arguments: [AgentRuntimeStatus.ready.rawValue, date.storedValue, runtimeId, version]
                )
            } else {
                try db.execute(
                    sql: """
                        UPDATE agent_runtime_endpoint SET status = ?, failure_reason = ?, last_updated_at = ?
                        WHERE runtime_id = ? AND target_version = ?
                        """,
                    arguments: [failed, failureReason, date.storedValue, runtimeId, version]
                )
            }
            return true
        }
    }

    public func pendingDeployments() async throws -> [AgentRuntimeVersion] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM agent_runtime_version WHERE status = ? ORDER BY created_at, runtime_id, version",
                arguments: [AgentRuntimeStatus.creating.rawValue]
            ).map(Self.version(from:))
        }
    }

    public func deleteRuntime(id: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM agent_runtime WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }

    public func endpoint(runtimeId: String, name: String) async throws -> AgentRuntimeEndpoint? {
        try await pool.read { db in
            try Row.fetchOne(
                db,
                sql: "SELECT * FROM agent_runtime_endpoint WHERE runtime_id = ? AND name = ?",
                arguments: [runtimeId, name]
            ).map(Self.endpoint(from:))
        }
    }

    public func endpoints(runtimeId: String, after afterName: String?, limit: Int) async throws -> [AgentRuntimeEndpoint] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM agent_runtime_endpoint WHERE runtime_id = ? AND name > ? ORDER BY name LIMIT ?",
                arguments: [runtimeId, afterName ?? "", limit]
            ).map(Self.endpoint(from:))
        }
    }

    public func createEndpoint(_ endpoint: AgentRuntimeEndpoint) async throws {
        try await pool.write { db in
            try Self.insertEndpoint(endpoint, db: db)
        }
    }

    public func updateEndpoint(_ endpoint: AgentRuntimeEndpoint) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE agent_runtime_endpoint
                    SET live_version = ?, target_version = ?, description = ?, status = ?, failure_reason = ?, last_updated_at = ?
                    WHERE runtime_id = ? AND name = ?
                    """,
                arguments: [
                    endpoint.liveVersion, endpoint.targetVersion, endpoint.description, endpoint.status.rawValue,
                    endpoint.failureReason, endpoint.lastUpdatedAt.storedValue, endpoint.runtimeId, endpoint.name,
                ]
            )
            return db.changesCount > 0
        }
    }

    public func deleteEndpoint(runtimeId: String, name: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: "DELETE FROM agent_runtime_endpoint WHERE runtime_id = ? AND name = ?",
                arguments: [runtimeId, name]
            )
            return db.changesCount > 0
        }
    }

    public func endpointCount(runtimeId: String) async throws -> Int {
        try await pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM agent_runtime_endpoint WHERE runtime_id = ?", arguments: [runtimeId]) ?? 0
        }
    }

    // MARK: - Rows

    private static func insertVersion(_ version: AgentRuntimeVersion, configuration: String, db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO agent_runtime_version (runtime_id, version, configuration, status, failure_reason, created_at)
                VALUES (?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                version.runtimeId, version.version, configuration, version.status.rawValue, version.failureReason,
                version.createdAt.storedValue,
            ]
        )
    }

    private static func insertEndpoint(_ endpoint: AgentRuntimeEndpoint, db: Database) throws {
        try mapConstraintErrors("An endpoint named \(endpoint.name) already exists for this agent runtime") {
            try db.execute(
                sql: """
                    INSERT INTO agent_runtime_endpoint
                    (runtime_id, name, id, live_version, target_version, description, status, failure_reason, created_at, last_updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    endpoint.runtimeId, endpoint.name, endpoint.id, endpoint.liveVersion, endpoint.targetVersion,
                    endpoint.description, endpoint.status.rawValue, endpoint.failureReason, endpoint.createdAt.storedValue,
                    endpoint.lastUpdatedAt.storedValue,
                ]
            )
        }
    }

    private static func status(_ row: Row, _ column: String) throws -> AgentRuntimeStatus {
        guard let status = AgentRuntimeStatus(rawValue: row[column]) else {
            throw StoreError.corrupt("column \(column) holds an unknown status")
        }
        return status
    }

    private static func runtime(from row: Row) throws -> AgentRuntime {
        guard let owner = AgentRuntimeOwner(rawValue: row["owner"]) else {
            throw StoreError.corrupt("agent_runtime.owner holds an unknown value")
        }
        return AgentRuntime(
            id: row["id"],
            name: row["name"],
            latestVersion: row["latest_version"],
            status: try status(row, "status"),
            failureReason: row["failure_reason"],
            createdAt: Date(stored: row["created_at"]),
            lastUpdatedAt: Date(stored: row["last_updated_at"]),
            tags: try decodeJSON([String: String].self, row["tags"], column: "agent_runtime.tags"),
            owner: owner
        )
    }

    private static func version(from row: Row) throws -> AgentRuntimeVersion {
        AgentRuntimeVersion(
            runtimeId: row["runtime_id"],
            version: row["version"],
            configuration: try decodeJSON(AgentRuntimeConfiguration.self, row["configuration"], column: "agent_runtime_version.configuration"),
            status: try status(row, "status"),
            failureReason: row["failure_reason"],
            createdAt: Date(stored: row["created_at"])
        )
    }

    private static func endpoint(from row: Row) throws -> AgentRuntimeEndpoint {
        AgentRuntimeEndpoint(
            runtimeId: row["runtime_id"],
            name: row["name"],
            id: row["id"],
            liveVersion: row["live_version"],
            targetVersion: row["target_version"],
            description: row["description"],
            status: try status(row, "status"),
            failureReason: row["failure_reason"],
            createdAt: Date(stored: row["created_at"]),
            lastUpdatedAt: Date(stored: row["last_updated_at"])
        )
    }
}
