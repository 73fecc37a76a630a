import Foundation
import PortcullisCore
@testable import PortcullisStore
import Testing

@Suite("SQLite store: session usage records")
struct SessionUsageStoreTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    static func record(
        _ sandbox: String, runtime: String = "alpha-0123456789", session: String? = nil, owner: String = "apikey:a", minute: Double = 0,
        ended: Double? = nil, cpu: Double = 1, invocations: Int = 1, updated: Double? = nil
    ) -> SessionRecord {
        let startedAt = start.addingTimeInterval(minute * 60)
        return SessionRecord(
            sandboxId: sandbox, runtimeId: runtime, sessionId: session ?? "session-" + String(repeating: String(sandbox.prefix(1)), count: 30), version: 1,
            ownerId: owner, driver: "bubblewrap", startedAt: startedAt, endedAt: ended.map { startedAt.addingTimeInterval($0) },
            endReason: ended == nil ? nil : "idle", updatedAt: startedAt.addingTimeInterval(updated ?? ended ?? 1),
            usage: SessionUsage(cpuSeconds: cpu, memoryGBSeconds: cpu / 2, peakMemoryBytes: 64 << 20, invocations: invocations, bytesIn: 10, bytesOut: 20)
        )
    }

    @Test("a record replaces older versions of itself, never a newer one, and an ended session stays ended")
    func upsertOrder() async throws {
        try await SQLiteStoreTests.withStore { store, _ in
            try await store.saveSessions([Self.record("a", cpu: 1, updated: 10)])
            try await store.saveSessions([Self.record("a", cpu: 2, updated: 20)])
            #expect(try await store.sessions(SessionQuery()).first?.usage.cpuSeconds == 2)
            try await store.saveSessions([Self.record("a", cpu: 1.5, updated: 15)])
            #expect(try await store.sessions(SessionQuery()).first?.usage.cpuSeconds == 2, "an older checkpoint does not replace a newer one")
            try await store.saveSessions([Self.record("a", ended: 30, cpu: 3, invocations: 4)])
            try await store.saveSessions([Self.record("a", cpu: 9, updated: 40)])
            let final = try #require(try await store.sessions(SessionQuery()).first)
            #expect(final.endReason == "idle" && final.usage.cpuSeconds == 3 && final.usage.invocations == 4, "ended stays ended: \(final)")
        }
    }

    @Test("listing filters by runtime, principal, state and start, newest first, in pages")
    func listing() async throws {
        try await SQLiteStoreTests.withStore { store, _ in
            try await store.saveSessions([
                Self.record("a", minute: 0, ended: 5), Self.record("b", minute: 1), Self.record("c", runtime: "beta-0123456789", minute: 2),
                Self.record("d", owner: "apikey:b", minute: 3, ended: 5), Self.record("e", minute: 3),
            ])
            #expect(try await store.sessions(SessionQuery()).map(\.sandboxId) == ["e", "d", "c", "b", "a"])
            #expect(try await store.sessions(SessionQuery(state: .active)).map(\.sandboxId) == ["e", "c", "b"])
            #expect(try await store.sessions(SessionQuery(state: .ended)).map(\.sandboxId) == ["d", "a"])
            #expect(try await store.sessions(SessionQuery(runtimeId: "beta-0123456789")).map(\.sandboxId) == ["c"])
            #expect(try await store.sessions(SessionQuery(ownerId: "apikey:b")).map(\.sandboxId) == ["d"])
            #expect(try await store.sessions(SessionQuery(since: Self.start.addingTimeInterval(90))).map(\.sandboxId) == ["e", "d", "c"])
            let first = try await store.sessions(SessionQuery(limit: 2))
            #expect(first.map(\.sandboxId) == ["e", "d"], "same start: ordered by sandbox id")
            let next = try await store.sessions(SessionQuery(after: SessionCursor(startedAt: first[1].startedAt, sandboxId: first[1].sandboxId), limit: 2))
            #expect(next.map(\.sandboxId) == ["c", "b"])
            let reused = Self.record("f", session: first[0].sessionId, minute: 9)
            try await store.saveSessions([reused])
            #expect(try await store.latestSession(runtimeId: reused.runtimeId, sessionId: reused.sessionId)?.sandboxId == "f", "the newest run of a reused id")
        }
    }

    @Test("open sessions of an earlier run end at their last update; usage adds up per agent and principal in a window; old records are purged")
    func closeSummarizePurge() async throws {
        try await SQLiteStoreTests.withStore { store, _ in
            try await store.saveSessions([
                Self.record("a", minute: 0, ended: 60, cpu: 1, invocations: 2), Self.record("b", minute: 1, cpu: 2, invocations: 3, updated: 45),
                Self.record("c", runtime: "beta-0123456789", owner: "apikey:b", minute: 2, ended: 60, cpu: 4, invocations: 1),
                Self.record("z", minute: 500, ended: 60, cpu: 100),
            ])
            #expect(try await store.closeOpenSessions(reason: "gatewayStopped") == 1)
            let closed = try #require(try await store.latestSession(runtimeId: "alpha-0123456789", sessionId: Self.record("b").sessionId))
            #expect(closed.endReason == "gatewayStopped" && closed.endedAt == Self.start.addingTimeInterval(60 + 45))
            #expect(try await store.closeOpenSessions(reason: "gatewayStopped") == 0)

            let window = (Self.start, Self.start.addingTimeInterval(3600))
            let byAgent = try await store.usageSummary(by: .agent, since: window.0, until: window.1)
            #expect(byAgent.map(\.key) == ["beta-0123456789", "alpha-0123456789"], "largest CPU first; z is outside the window")
            #expect(byAgent[1].sessions == 2 && byAgent[1].usage.cpuSeconds == 3 && byAgent[1].usage.invocations == 5 && byAgent[1].usage.bytesOut == 40)
            let byPrincipal = try await store.usageSummary(by: .principal, since: window.0, until: window.1)
            #expect(Dictionary(uniqueKeysWithValues: byPrincipal.map { ($0.key, $0.sessions) }) == ["apikey:a": 2, "apikey:b": 1])

            #expect(try await store.purgeSessions(endedBefore: Self.start.addingTimeInterval(3600)) == 3)
            #expect(try await store.sessions(SessionQuery()).map(\.sandboxId) == ["z"])
        }
    }
}
