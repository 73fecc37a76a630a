import Foundation
@testable import PortcullisCore
@testable import PortcullisSessions
import Synchronization
import Testing

final class SteppingClock: WallClock {
    private let current = Mutex(Date(timeIntervalSince1970: 1_000_000))
    func now() -> Date { current.withLock { $0 } }
    func advance(_ seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

@Suite("Session directory")
struct SessionDirectoryTests {
    let lifecycle = LifecycleConfiguration(idleRuntimeSessionTimeout: 60, maxLifetime: 600)
    let sessionId = "0123456789abcdef0123456789abcdef-session"

    @Test("same id and owner continue the session; another owner is told it does not exist")
    func ownership() throws {
        let directory = SessionDirectory(capacity: 10, clock: SteppingClock())
        let first = try directory.begin(runtimeId: "r", requestedSessionId: sessionId, principalId: "alice", lifecycle: lifecycle)
        #expect(first.isNew)
        directory.end(first)
        let again = try directory.begin(runtimeId: "r", requestedSessionId: sessionId, principalId: "alice", lifecycle: lifecycle)
        #expect(!again.isNew)
        directory.end(again)
        #expect(throws: AgentCoreError.notFound("Runtime session \(sessionId) was not found")) {
            try directory.begin(runtimeId: "r", requestedSessionId: sessionId, principalId: "mallory", lifecycle: lifecycle)
        }
        let otherRuntime = try directory.begin(runtimeId: "r2", requestedSessionId: sessionId, principalId: "mallory", lifecycle: lifecycle)
        #expect(otherRuntime.isNew, "sessions are per runtime")
        let generated = try directory.begin(runtimeId: "r", requestedSessionId: nil, principalId: "alice", lifecycle: lifecycle)
        #expect(generated.isNew && RuntimeSessionId.isValid(generated.sessionId))
        #expect(throws: AgentCoreError.self) {
            try directory.begin(runtimeId: "r", requestedSessionId: "short", principalId: "alice", lifecycle: lifecycle)
        }
    }

    @Test("idle time counts from the last finished invocation and pauses while one is in flight")
    func idleTimeout() throws {
        let clock = SteppingClock()
        let directory = SessionDirectory(capacity: 10, clock: clock)
        let lease = try directory.begin(runtimeId: "r", requestedSessionId: sessionId, principalId: "alice", lifecycle: lifecycle)
        clock.advance(120)
        #expect(directory.sweep() == 0, "an invocation is still in flight")
        directory.end(lease)
        clock.advance(59)
        #expect(directory.sweep() == 0)
        clock.advance(2)
        #expect(directory.sweep() == 1)
        let fresh = try directory.begin(runtimeId: "r", requestedSessionId: sessionId, principalId: "bob", lifecycle: lifecycle)
        #expect(fresh.isNew, "after expiry the id starts a fresh session for whoever uses it")
    }

    @Test("max lifetime ends a session even while it is busy")
    func maxLifetime() throws {
        let clock = SteppingClock()
        let directory = SessionDirectory(capacity: 10, clock: clock)
        _ = try directory.begin(runtimeId: "r", requestedSessionId: sessionId, principalId: "alice", lifecycle: lifecycle)
        clock.advance(601)
        let next = try directory.begin(runtimeId: "r", requestedSessionId: sessionId, principalId: "alice", lifecycle: lifecycle)
        #expect(next.isNew)
    }

    @Test("stop ends the owner's session; capacity forgets the least recently used")
    func stopAndCapacity() throws {
        let directory = SessionDirectory(capacity: 2, clock: SteppingClock())
        let a = try directory.begin(runtimeId: "r", requestedSessionId: sessionId + "-a", principalId: "alice", lifecycle: lifecycle)
        directory.end(a)
        #expect(throws: AgentCoreError.self) { try directory.stop(runtimeId: "r", sessionId: a.sessionId, principalId: "bob") }
        try directory.stop(runtimeId: "r", sessionId: a.sessionId, principalId: "alice")
        #expect(throws: AgentCoreError.self) { try directory.stop(runtimeId: "r", sessionId: a.sessionId, principalId: "alice") }

        let one = try directory.begin(runtimeId: "r", requestedSessionId: sessionId + "-1", principalId: "alice", lifecycle: lifecycle)
        let two = try directory.begin(runtimeId: "r", requestedSessionId: sessionId + "-2", principalId: "alice", lifecycle: lifecycle)
        _ = try directory.begin(runtimeId: "r", requestedSessionId: sessionId + "-1", principalId: "alice", lifecycle: lifecycle)
        _ = try directory.begin(runtimeId: "r", requestedSessionId: sessionId + "-3", principalId: "alice", lifecycle: lifecycle)
        #expect(directory.count == 2)
        #expect(throws: AgentCoreError.self, "-1 was used recently and is still alice's") {
            try directory.begin(runtimeId: "r", requestedSessionId: one.sessionId, principalId: "bob", lifecycle: lifecycle)
        }
        #expect(try directory.begin(runtimeId: "r", requestedSessionId: two.sessionId, principalId: "bob", lifecycle: lifecycle).isNew, "-2 was forgotten")
        directory.removeAll(runtimeId: "r")
        #expect(directory.count == 0)
    }
}

@Suite("LRU map")
struct LRUMapTests {
    @Test("keeps use order through touches, updates and removals")
    func order() {
        var map = LRUMap<String, Int>()
        map.set("a", 1)
        map.set("b", 2)
        map.set("c", 3)
        #expect(map.leastRecentlyUsed?.key == "a")
        _ = map.touch("a")
        #expect(map.leastRecentlyUsed?.key == "b")
        map.update("b") { $0 = 20 }
        #expect(map.peek("b") == 20)
        #expect(map.leastRecentlyUsed?.key == "b", "update does not change order")
        map.remove("b")
        #expect(map.entriesFromOldest().map(\.key) == ["c", "a"])
        map.set("d", 4)
        #expect(map.entriesFromOldest().map(\.key) == ["c", "a", "d"])
        #expect(map.count == 3)
    }
}
