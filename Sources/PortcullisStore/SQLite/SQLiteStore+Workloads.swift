public import Foundation
import GRDB
public import PortcullisCore

extension SQLiteStore: WorkloadIdentityStore {
    public func insertWorkloadIdentity(_ identity: WorkloadIdentity) async throws {
        try await pool.write { db in try Self.insertWorkloadIdentity(identity, db: db) }
    }

    static func insertWorkloadIdentity(_ identity: WorkloadIdentity, db: Database) throws {
        let urls = try encodeJSON(identity.allowedReturnURLs)
        let tags = try encodeJSON(identity.tags)
        try mapConstraintErrors("A workload identity named \(identity.name) already exists") {
            try db.execute(
                sql: """
                    INSERT INTO workload_identity (name, runtime_id, allowed_return_urls, tags, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [identity.name, identity.runtimeId, urls, tags, identity.createdAt.storedValue, identity.updatedAt.storedValue]
            )
        }
    }

    public func workloadIdentity(name: String) async throws -> WorkloadIdentity? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM workload_identity WHERE name = ?", arguments: [name]).map(Self.workloadIdentity(from:))
        }
    }

    public func workloadIdentities(after afterName: String?, limit: Int) async throws -> [WorkloadIdentity] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM workload_identity WHERE name > ? ORDER BY name LIMIT ?", arguments: [afterName ?? "", limit]
            ).map(Self.workloadIdentity(from:))
        }
    }

    public func updateWorkloadIdentity(name: String, allowedReturnURLs: [String], at date: Date) async throws -> WorkloadIdentity? {
        let urls = try Self.encodeJSON(allowedReturnURLs)
        return try await pool.write { db in
            try db.execute(
                sql: "UPDATE workload_identity SET allowed_return_urls = ?, updated_at = ? WHERE name = ?",
                arguments: [urls, date.storedValue, name]
            )
            guard db.changesCount > 0 else { return nil }
            return try Row.fetchOne(db, sql: "SELECT * FROM workload_identity WHERE name = ?", arguments: [name]).map(Self.workloadIdentity(from:))
        }
    }

    public func deleteWorkloadIdentity(name: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM workload_identity WHERE name = ? AND runtime_id IS NULL", arguments: [name])
            return db.changesCount > 0
        }
    }

    private static func workloadIdentity(from row: Row) throws -> WorkloadIdentity {
        WorkloadIdentity(
            name: row["name"],
            runtimeId: row["runtime_id"],
            allowedReturnURLs: try decodeJSON([String].self, row["allowed_return_urls"], column: "workload_identity.allowed_return_urls"),
            tags: try decodeJSON([String: String].self, row["tags"], column: "workload_identity.tags"),
            createdAt: Date(stored: row["created_at"]),
            updatedAt: Date(stored: row["updated_at"])
        )
    }
}

extension SQLiteStore: CredentialProviderStore {
    public func insertCredentialProvider(_ record: CredentialProviderRecord) async throws {
        let configuration = try Self.encodeJSON(record.configuration)
        let tags = try Self.encodeJSON(record.tags)
        try await pool.write { db in
            try Self.mapConstraintErrors("A credential provider named \(record.name) already exists") {
                try db.execute(
                    sql: """
                        INSERT INTO credential_provider (id, name, kind, vendor, configuration, sealed_secret, tags, created_at, updated_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        record.id, record.name, record.kind.rawValue, record.vendor, configuration, record.sealedSecret, tags,
                        record.createdAt.storedValue, record.updatedAt.storedValue,
                    ]
                )
            }
        }
    }

    public func credentialProvider(kind: CredentialProviderRecord.Kind, name: String) async throws -> CredentialProviderRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM credential_provider WHERE kind = ? AND name = ?", arguments: [kind.rawValue, name])
                .map(Self.credentialProvider(from:))
        }
    }

    public func credentialProvider(id: String) async throws -> CredentialProviderRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM credential_provider WHERE id = ?", arguments: [id]).map(Self.credentialProvider(from:))
        }
    }

    public func credentialProviders(kind: CredentialProviderRecord.Kind, after afterName: String?, limit: Int) async throws -> [CredentialProviderRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM credential_provider WHERE kind = ? AND name > ? ORDER BY name LIMIT ?",
                arguments: [kind.rawValue, afterName ?? "", limit]
            ).map(Self.credentialProvider(from:))
        }
    }

    public func updateCredentialProvider(_ record: CredentialProviderRecord) async throws -> Bool {
        let configuration = try Self.encodeJSON(record.configuration)
        return try await pool.write { db in
            try db.execute(
                sql: "UPDATE credential_provider SET vendor = ?, configuration = ?, sealed_secret = ?, updated_at = ? WHERE id = ?",
                arguments: [record.vendor, configuration, record.sealedSecret, record.updatedAt.storedValue, record.id]
            )
            return db.changesCount > 0
        }
    }

    public func deleteCredentialProvider(kind: CredentialProviderRecord.Kind, name: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM credential_provider WHERE kind = ? AND name = ?", arguments: [kind.rawValue, name])
            return db.changesCount > 0
        }
    }

    public func replaceSealedSecret(providerId: String, expected: String, with sealedSecret: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE credential_provider SET sealed_secret = ? WHERE id = ? AND sealed_secret = ?",
                arguments: [sealedSecret, providerId, expected]
            )
            return db.changesCount > 0
        }
    }

    public func sealedProviderSecrets() async throws -> [(id: String, sealedSecret: String)] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, sealed_secret FROM credential_provider ORDER BY id").map { ($0["id"], $0["sealed_secret"]) }
        }
    }

    private static func credentialProvider(from row: Row) throws -> CredentialProviderRecord {
        guard let kind = CredentialProviderRecord.Kind(rawValue: row["kind"]) else {
            throw StoreError.corrupt("credential_provider.kind holds an unknown kind")
        }
        return CredentialProviderRecord(
            id: row["id"],
            name: row["name"],
            kind: kind,
            vendor: row["vendor"],
            configuration: try decodeJSON(JSONValue.self, row["configuration"], column: "credential_provider.configuration"),
            sealedSecret: row["sealed_secret"],
            tags: try decodeJSON([String: String].self, row["tags"], column: "credential_provider.tags"),
            createdAt: Date(stored: row["created_at"]),
            updatedAt: Date(stored: row["updated_at"])
        )
    }
}
