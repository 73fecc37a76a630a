import Foundation
import GRDB
public import Logging
import PortcullisCore

/// The embedded store: one SQLite file in WAL mode, migrated at open.
///
/// Readers run in parallel; writes are serialised by SQLite. Every access uses GRDB's async API so no cooperative
/// thread ever blocks on the database.
public final class SQLiteStore: Sendable {
    let pool: DatabasePool

    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    ///
    /// The parent directory is created with mode 0700 and the database file restricted to its owner, since it holds
    /// key hashes and agent configuration.
    public init(path: String, logger: Logger) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(
            at: directory,
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700]
        )
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.maximumReaderCount = 4
        configuration.foreignKeysEnabled = true
        configuration.prepareDatabase { db in
            // FULL: a committed rotated refresh token must survive a power loss, or the grant is gone with it.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        let existed = FileManager.default.fileExists(atPath: path)
        self.pool = try DatabasePool(path: path, configuration: configuration)
        if !existed {
            for file in [path, path + "-wal", path + "-shm"] where FileManager.default.fileExists(atPath: file) {
                try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
            }
        }
        try SQLiteMigrations.migrator.migrate(pool)
        logger.debug("opened SQLite store", metadata: ["path": "\(path)"])
    }

    static let jsonEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    static func encodeJSON(_ value: some Encodable) throws -> String {
        String(decoding: try jsonEncoder.encode(value), as: UTF8.self)
    }

    static func decodeJSON<T: Decodable>(_ type: T.Type, _ text: String, column: String) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(text.utf8))
        } catch {
            throw StoreError.corrupt("column \(column) holds unreadable JSON")
        }
    }

    /// Runs `body` and turns SQLite uniqueness failures into ``StoreError/conflict(_:)``.
    static func mapConstraintErrors<T>(_ message: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw StoreError.conflict(message)
        }
    }
}

extension SQLiteStore: StoreHealth {
    public func checkHealth() async throws {
        _ = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }
}

extension Date {
    /// Seconds since 1970, as stored.
    var storedValue: Double { timeIntervalSince1970 }

    init(stored: Double) {
        self.init(timeIntervalSince1970: stored)
    }
}
