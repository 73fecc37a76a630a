import Foundation
import GRDB
import Logging
import PortcullisCore
@testable import PortcullisStore
import Testing

@Suite("SQLite store: the hash-chained audit log")
struct AuditStoreTests {
    static func event(_ index: Int, kind: AuditEvent.Kind = .controlPlaneChange, principal: String = "apikey:a", agent: String? = "alpha-0123456789") -> AuditEvent {
        AuditEvent(
            time: Date(timeIntervalSince1970: 1_800_000_000 + Double(index) * 60), kind: kind, principal: principal, agentRuntimeId: agent,
            action: "UpdateAgentRuntime", outcome: "success", requestId: "request-\(index)", details: ["version": .number(Double(index))]
        )
    }

    static func withChain<T>(_ count: Int = 5, _ body: (SQLiteStore, String) async throws -> T) async throws -> T {
        try await SQLiteStoreTests.withStore { store, path in
            try await store.appendAudit((1...count).map { Self.event($0) })
            return try await body(store, path)
        }
    }

    @Test("records chain from the genesis hash; the chain verifies and its head is the last record's hash; queries filter")
    func intactChain() async throws {
        try await SQLiteStoreTests.withStore { store, _ in
            let first = try await store.appendAudit([Self.event(1), Self.event(2, kind: .sessionStarted, principal: "apikey:b")])
            let more = try await store.appendAudit([Self.event(3, agent: "beta-0123456789")])
            #expect(first.map(\.sequence) == [1, 2] && more.map(\.sequence) == [3])
            #expect(first[0].previousHash == AuditRecord.genesisHash && first[1].previousHash == first[0].hash && more[0].previousHash == first[1].hash)
            #expect(first[0].hash == AuditChain.hash(previous: AuditRecord.genesisHash, body: first[0].body))
            let verification = try await store.verifyAudit()
            #expect(verification.isIntact && verification.records == 3 && verification.headHash == more[0].hash, "\(verification)")
            let read = try await store.auditRecords(AuditQuery())
            #expect(read.map(\.event) == (first + more).map(\.event), "what was written reads back")
            #expect(try await store.auditRecords(AuditQuery(kinds: [.sessionStarted])).map(\.sequence) == [2])
            #expect(try await store.auditRecords(AuditQuery(principal: "apikey:a")).map(\.sequence) == [1, 3])
            #expect(try await store.auditRecords(AuditQuery(agentRuntimeId: "beta-0123456789")).map(\.sequence) == [3])
            #expect(try await store.auditRecords(AuditQuery(since: Self.event(2).time)).map(\.sequence) == [2, 3])
            #expect(try await store.auditRecords(AuditQuery(after: 1, limit: 1)).map(\.sequence) == [2])
        }
    }

    @Test("an edited, deleted, reordered or re-labelled record is found")
    func tampering() async throws {
        try await Self.withChain { store, _ in
            try await store.pool.write { db in
                try db.execute(sql: "UPDATE audit_record SET body = replace(body, 'UpdateAgentRuntime', 'GetAgentRuntime') WHERE sequence = 3")
            }
            let edited = try await store.verifyAudit()
            #expect(!edited.isIntact && edited.problems.contains { $0.hasPrefix("record 3: its content was changed") }, "\(edited.problems)")
        }
        try await Self.withChain { store, _ in
            try await store.pool.write { db in try db.execute(sql: "DELETE FROM audit_record WHERE sequence = 2") }
            let deleted = try await store.verifyAudit()
            #expect(deleted.problems.contains { $0.hasPrefix("record 3: expected record 2 here") }, "\(deleted.problems)")
            #expect(deleted.problems.contains { $0.hasPrefix("record 3: does not follow the record before it") }, "\(deleted.problems)")
        }
        try await Self.withChain { store, _ in
            try await store.pool.write { db in
                // Records 2 and 3 trade places, each with its own body and hashes.
                try db.execute(sql: "UPDATE audit_record SET sequence = -2 WHERE sequence = 2")
                try db.execute(sql: "UPDATE audit_record SET sequence = 2 WHERE sequence = 3")
                try db.execute(sql: "UPDATE audit_record SET sequence = 3 WHERE sequence = -2")
            }
            let reordered = try await store.verifyAudit()
            #expect(!reordered.isIntact && reordered.problems.contains { $0.hasPrefix("record 2:") }, "\(reordered.problems)")
        }
        try await Self.withChain { store, _ in
            try await store.pool.write { db in try db.execute(sql: "UPDATE audit_record SET principal = 'apikey:someone-else' WHERE sequence = 4") }
            let relabelled = try await store.verifyAudit()
            #expect(relabelled.problems == ["record 4: its indexed columns differ from its content"], "\(relabelled.problems)")
        }
    }

    @Test("retention removes old records and leaves an anchor the chain still verifies against; two writers on one file still chain")
    func purgeAndConcurrentWriters() async throws {
        try await Self.withChain(6) { store, _ in
            #expect(try await store.purgeAudit(before: Self.event(4).time) == 3)
            let after = try await store.verifyAudit()
            #expect(after.isIntact && after.firstSequence == 4 && after.records == 3, "\(after)")
            try await store.pool.write { db in try db.execute(sql: "DELETE FROM audit_record WHERE sequence = 4") }
            #expect(try await store.verifyAudit().problems.first?.hasPrefix("record 5: expected record 4 here") == true, "deleting past the anchor is seen")
        }
        try await SQLiteStoreTests.withStore { first, path in
            let second = try SQLiteStore(path: path, logger: Logger(label: "second"))
            await withTaskGroup(of: Void.self) { group in
                for writer in [first, second] {
                    group.addTask {
                        for index in 0..<25 { _ = try? await writer.appendAudit([Self.event(index), Self.event(index + 100)]) }
                    }
                }
            }
            let verification = try await first.verifyAudit()
            #expect(verification.isIntact && verification.records == 100, "\(verification)")
        }
    }
}
