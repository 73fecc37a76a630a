public import Foundation
import Synchronization

/// Stored credential records kept for a short while so the hot path does not read the store — "no such key"
/// answers included, so random ids cannot hammer it — plus the ids used since the last flush of last-used times.
///
/// Only records are cached (hashes, sealed secrets, configuration), never an opened secret. Evicting applies a
/// revocation made in this process at once (a fetch that overlapped an eviction is not kept); one made elsewhere
/// applies when the entry expires.
///
/// An entry read in the second half of its lifetime is fetched again in the background while the read is answered
/// from it, so a record in steady use never makes a request wait for the store; the bound on staleness stays the
/// lifetime (a refreshed entry counts from when its fetch began).
public final class CredentialRecordCache<Record: Sendable>: Sendable {
    private struct Entry {
        var record: Record?
        var fetchedAt: Date
    }

    private let lifetime: TimeInterval
    private let maxEntries: Int
    private let entries = Mutex<[String: Entry]>([:])
    /// Counts evictions: a fetch that overlapped one may have read what the eviction was for, so it is not kept.
    private let evictions = Atomic<UInt64>(0)
    private let used = Mutex<Set<String>>([])
    /// Ids with a background refresh in flight: one at a time per id.
    private let refreshing = Mutex<Set<String>>([])

    public init(lifetime: TimeInterval, maxEntries: Int = 10_000) {
        self.lifetime = lifetime
        self.maxEntries = maxEntries
    }

    /// The cached record for `id`, or what `fetch` returns (then cached).
    public func record(id: String, now: Date, fetch: @escaping @Sendable () async throws -> Record?) async rethrows -> Record? {
        // An entry from the future (the clock went back) has expired too: a clock jump never extends a lifetime.
        if let cached = entries.withLock({ $0[id] }), (0..<lifetime).contains(now.timeIntervalSince(cached.fetchedAt)) {
            if now.timeIntervalSince(cached.fetchedAt) >= lifetime / 2, refreshing.withLock({ $0.insert(id).inserted }) {
                Task {
                    defer { _ = refreshing.withLock { $0.remove(id) } }
                    // A failed refresh changes nothing: the entry expires on time and the next read fetches (and fails) itself.
                    try? await fetchAndKeep(id: id, now: now, fetch: fetch)
                }
            }
            return cached.record
        }
        return try await fetchAndKeep(id: id, now: now, fetch: fetch)
    }

    private func fetchAndKeep(id: String, now: Date, fetch: () async throws -> Record?) async rethrows -> Record? {
        let evictionsBefore = evictions.load(ordering: .acquiring)
        let record = try await fetch()
        entries.withLock { entries in
            guard evictions.load(ordering: .acquiring) == evictionsBefore else { return }
            // A background refresh that began before the entry's latest fetch does not replace it with older data.
            if let current = entries[id], current.fetchedAt > now, current.fetchedAt.timeIntervalSince(now) < lifetime { return }
            if entries.count >= maxEntries { entries.removeAll(keepingCapacity: true) }
            entries[id] = Entry(record: record, fetchedAt: now)
        }
        return record
    }

    public func evict(id: String) {
        entries.withLock { entries in
            evictions.add(1, ordering: .releasing)
            entries.removeValue(forKey: id)
        }
    }

    func markUsed(_ id: String) {
        _ = used.withLock { $0.insert(id) }
    }

    /// The ids used since the previous call.
    func takeUsed() -> [String] {
        used.withLock { used in
            defer { used.removeAll(keepingCapacity: true) }
            return Array(used)
        }
    }
}
