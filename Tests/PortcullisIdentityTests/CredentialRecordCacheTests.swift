import Foundation
import PortcullisIdentity
import Synchronization
import Testing

@Suite("Credential record cache")
struct CredentialRecordCacheTests {
    @Test("a record is kept for its lifetime, not past it nor from a clock set back; a fetch that overlapped an eviction is not kept")
    func lifetimeAndEvictionRace() async throws {
        let cache = CredentialRecordCache<String>(lifetime: 2)
        let fetches = Mutex(0)
        let start = Date()
        func read(_ value: String, at offset: TimeInterval, during: () -> Void = {}) async -> String? {
            await cache.record(id: "key", now: start.addingTimeInterval(offset)) {
                fetches.withLock { $0 += 1 }
                during()
                return value
            }
        }
        #expect(await read("first", at: 0) == "first")
        #expect(await read("second", at: 1) == "first", "kept within its lifetime")
        #expect(await read("third", at: 2) == "third", "fetched again once it has expired")
        #expect(await read("fourth", at: -60) == "fourth", "an entry from the future (the clock went back) is not trusted")
        #expect(fetches.withLock { $0 } == 3)

        // A revocation evicts while a fetch is in flight: what that fetch read may predate it, so it is not kept.
        cache.evict(id: "key")
        #expect(await read("stale", at: 0) { cache.evict(id: "key") } == "stale")
        #expect(await read("fresh", at: 0.5) == "fresh", "the overlapped fetch was not cached")
        #expect(await read("later", at: 1) == "fresh", "a fetch with no eviction during it is cached")
    }
}
