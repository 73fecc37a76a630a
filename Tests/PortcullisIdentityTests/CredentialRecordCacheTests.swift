import Foundation
import PortcullisIdentity
import Synchronization
import Testing

@Suite("Credential record cache")
struct CredentialRecordCacheTests {
    /// A cache of strings whose fetches are counted; `read` fetches `value` when the cache asks for a fetch.
    final class Subject: Sendable {
        let cache = CredentialRecordCache<String>(lifetime: 2)
        let fetches = Mutex(0)
        let start = Date()

        func read(_ value: String, at offset: TimeInterval, failing: Bool = false, during: @escaping @Sendable () -> Void = {}) async throws -> String? {
            try await cache.record(id: "key", now: start.addingTimeInterval(offset)) {
                self.fetches.withLock { $0 += 1 }
                during()
                if failing { throw CancellationError() }
                return value
            }
        }

        var fetchCount: Int { fetches.withLock { $0 } }

        /// Waits (bounded) for background refreshes to bring the fetch count to `count`.
        func waitForFetches(_ count: Int) async throws {
            for _ in 0..<400 where fetchCount < count { try await Task.sleep(for: .milliseconds(5)) }
        }
    }

    @Test("a record is kept for its lifetime, not past it nor from a clock set back; a fetch that overlapped an eviction is not kept")
    func lifetimeAndEvictionRace() async throws {
        let subject = Subject()
        #expect(try await subject.read("first", at: 0) == "first")
        #expect(try await subject.read("second", at: 0.9) == "first", "kept within its lifetime")
        #expect(try await subject.read("third", at: 2) == "third", "fetched again once it has expired")
        #expect(try await subject.read("fourth", at: -60) == "fourth", "an entry from the future (the clock went back) is not trusted")
        #expect(subject.fetchCount == 3)

        // A revocation evicts while a fetch is in flight: what that fetch read may predate it, so it is not kept.
        let cache = subject.cache
        cache.evict(id: "key")
        #expect(try await subject.read("stale", at: 0) { cache.evict(id: "key") } == "stale")
        #expect(try await subject.read("fresh", at: 0.5) == "fresh", "the overlapped fetch was not cached")
        #expect(try await subject.read("later", at: 0.9) == "fresh", "a fetch with no eviction during it is cached")
    }

    @Test("a read in the second half of a lifetime is answered from the entry and refreshes it in the background, once; staleness stays bounded")
    func refreshAhead() async throws {
        let subject = Subject()
        #expect(try await subject.read("a", at: 0) == "a")
        // Many reads late in the lifetime: all answered at once from the entry, one background fetch between them.
        try await withThrowingTaskGroup(of: String?.self) { group in
            for _ in 0..<20 { group.addTask { try await subject.read("b", at: 1.5) } }
            for try await value in group { #expect(value == "a") }
        }
        try await subject.waitForFetches(2)
        #expect(subject.fetchCount == 2, "one refresh in flight per record")
        #expect(try await subject.read("c", at: 2.5) == "b", "the refreshed entry, counted from when its fetch began (1.5)")
        #expect(try await subject.read("d", at: 3.6) == "d", "gone once the refreshed entry's own lifetime is over")

        // A refresh that fails leaves the entry until it expires; then the read fetches itself, and fails.
        #expect(try await subject.read("e", at: 5, failing: true) == "d")
        try await subject.waitForFetches(4)
        await #expect(throws: CancellationError.self) { try await subject.read("f", at: 5.7, failing: true) }
        #expect(subject.fetchCount == 5)
        #expect(try await subject.read("g", at: 5.8) == "g")
    }
}
