import Foundation
import Synchronization

/// The golden snapshots of the agent versions in use, by key: made on a version's first start (concurrent starts
/// wait for one), kept while the version keeps starting VMs. At most `capacity` are kept (each holds its guest's
/// touched memory), the least recently used dropped first, and one unused for `idleLimit` is dropped at the next
/// lookup. A VM restored from a dropped snapshot keeps running: its mapping holds the memory until it ends.
final class SnapshotLibrary: Sendable {
    private enum Entry {
        case making(Task<GoldenSnapshot, any Error>)
        case ready(GoldenSnapshot, lastUsed: ContinuousClock.Instant)
    }

    let capacity: Int
    let idleLimit: Duration
    private let entries = Mutex(LRUMap<String, Entry>())

    init(capacity: Int, idleLimit: Duration) {
        self.capacity = max(1, capacity)
        self.idleLimit = idleLimit
    }

    /// The snapshot for `key`, made by `make` when there is none. A failure is not remembered: the next start tries again.
    func snapshot(for key: String, make: @escaping @Sendable () async throws(SandboxError) -> GoldenSnapshot) async throws(SandboxError) -> GoldenSnapshot {
        let now = ContinuousClock.now
        // Snapshots dropped here are released (their files closed) once the lock is given back.
        let (found, _) = entries.withLock { entries -> (Entry, dropped: [GoldenSnapshot]) in
            let dropped = Self.dropIdle(&entries, now: now, idleLimit: idleLimit)
            switch entries.touch(key) {
            case .ready(let snapshot, _):
                let entry = Entry.ready(snapshot, lastUsed: now)
                _ = entries.update(key) { $0 = entry }
                return (entry, dropped)
            case .making(let task):
                return (.making(task), dropped)
            case nil:
                let entry = Entry.making(Task { try await make() })
                entries.set(key, entry)
                return (entry, dropped)
            }
        }
        let making: Task<GoldenSnapshot, any Error>
        switch found {
        case .ready(let snapshot, _): return snapshot
        case .making(let task): making = task
        }
        do {
            let snapshot = try await making.value
            _ = entries.withLock { entries -> [GoldenSnapshot] in
                if case .making = entries.peek(key) { entries.set(key, .ready(snapshot, lastUsed: .now)) }
                return Self.dropOverCapacity(&entries, capacity: capacity)
            }
            return snapshot
        } catch {
            entries.withLock { entries in
                if case .making = entries.peek(key) { entries.remove(key) }
            }
            if let error = error as? SandboxError { throw error }
            throw SandboxError(.startFailed, "the agent's snapshot could not be made: \(error)")
        }
    }

    /// The snapshots kept, least recently used first.
    func kept() -> [GoldenSnapshot] {
        entries.withLock { entries in
            entries.entriesFromOldest().compactMap { entry in
                if case .ready(let snapshot, _) = entry.value { return snapshot }
                return nil
            }
        }
    }

    /// Drops every snapshot (at shutdown); snapshots being made are dropped by their makers' callers.
    func removeAll() {
        _ = entries.withLock { entries -> LRUMap<String, Entry> in
            defer { entries = LRUMap() }
            return entries
        }
    }

    private static func dropIdle(_ entries: inout LRUMap<String, Entry>, now: ContinuousClock.Instant, idleLimit: Duration) -> [GoldenSnapshot] {
        var dropped: [GoldenSnapshot] = []
        for (key, entry) in entries.entriesFromOldest() {
            guard case .ready(let snapshot, let lastUsed) = entry, now - lastUsed > idleLimit else { continue }
            entries.remove(key)
            dropped.append(snapshot)
        }
        return dropped
    }

    private static func dropOverCapacity(_ entries: inout LRUMap<String, Entry>, capacity: Int) -> [GoldenSnapshot] {
        var dropped: [GoldenSnapshot] = []
        for (key, entry) in entries.entriesFromOldest() where entries.count > capacity {
            guard case .ready(let snapshot, _) = entry else { continue }
            entries.remove(key)
            dropped.append(snapshot)
        }
        return dropped
    }
}
