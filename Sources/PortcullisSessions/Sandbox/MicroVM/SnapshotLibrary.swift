import Foundation
import Synchronization

/// The golden snapshots of the agent versions in use, by key: made on a version's first start (concurrent starts
/// wait for one), kept while the version keeps starting VMs. At most `capacity` are kept (each holds its guest's
/// touched memory), the least recently used dropped first, and one unused for `idleLimit` is dropped at the next
/// lookup. A dropped snapshot's files close once no restore holds it; a VM restored from it keeps running, its
/// mapping holding the memory until it ends.
final class SnapshotLibrary: Sendable {
    private enum Entry {
        /// Being made; the number tells this making from a later one for the same key.
        case making(Task<GoldenSnapshot, any Error>, attempt: UInt64)
        case ready(GoldenSnapshot, lastUsed: ContinuousClock.Instant)
    }

    let capacity: Int
    let idleLimit: Duration
    private let entries = Mutex((map: LRUMap<String, Entry>(), attempts: UInt64(0)))

    init(capacity: Int, idleLimit: Duration) {
        self.capacity = max(1, capacity)
        self.idleLimit = idleLimit
    }

    /// The snapshot for `key`, made by `make` when there is none. A failure is not remembered: the next start tries again.
    func snapshot(for key: String, make: @escaping @Sendable () async throws(SandboxError) -> GoldenSnapshot) async throws(SandboxError) -> GoldenSnapshot {
        let now = ContinuousClock.now
        // Snapshots dropped here are released (their files closed) once the lock is given back.
        let (found, _) = entries.withLock { state -> (Entry, dropped: [GoldenSnapshot]) in
            let dropped = Self.dropIdle(&state.map, now: now, idleLimit: idleLimit)
            switch state.map.touch(key) {
            case .ready(let snapshot, _):
                let entry = Entry.ready(snapshot, lastUsed: now)
                _ = state.map.update(key) { $0 = entry }
                return (entry, dropped)
            case .making(let task, let attempt):
                return (.making(task, attempt: attempt), dropped)
            case nil:
                state.attempts += 1
                let entry = Entry.making(Task { try await make() }, attempt: state.attempts)
                state.map.set(key, entry)
                return (entry, dropped)
            }
        }
        let making: Task<GoldenSnapshot, any Error>
        let attempt: UInt64
        switch found {
        case .ready(let snapshot, _): return snapshot
        case .making(let task, let number): (making, attempt) = (task, number)
        }
        do {
            let snapshot = try await making.value
            _ = entries.withLock { state -> [GoldenSnapshot] in
                guard case .making(_, attempt) = state.map.peek(key) else { return [] }
                state.map.set(key, .ready(snapshot, lastUsed: .now))
                return Self.dropOverCapacity(&state.map, capacity: capacity, keeping: key)
            }
            return snapshot
        } catch {
            entries.withLock { state in
                if case .making(_, attempt) = state.map.peek(key) { state.map.remove(key) }
            }
            if let error = error as? SandboxError { throw error }
            throw SandboxError(.startFailed, "the agent's snapshot could not be made: \(error)")
        }
    }

    /// The snapshots kept, least recently used first.
    func kept() -> [GoldenSnapshot] {
        entries.withLock { Self.ready(in: $0.map) }
    }

    /// Drops every snapshot (at shutdown); snapshots being made are dropped by their makers' callers.
    func removeAll() {
        _ = entries.withLock { state -> [GoldenSnapshot] in
            defer { state.map = LRUMap() }
            return Self.ready(in: state.map)
        }
    }

    private static func ready(in map: LRUMap<String, Entry>) -> [GoldenSnapshot] {
        map.entriesFromOldest().compactMap { entry in
            if case .ready(let snapshot, _) = entry.value { return snapshot }
            return nil
        }
    }

    private static func dropIdle(_ map: inout LRUMap<String, Entry>, now: ContinuousClock.Instant, idleLimit: Duration) -> [GoldenSnapshot] {
        var dropped: [GoldenSnapshot] = []
        for (key, entry) in map.entriesFromOldest() {
            guard case .ready(let snapshot, let lastUsed) = entry, now - lastUsed > idleLimit else { continue }
            map.remove(key)
            dropped.append(snapshot)
        }
        return dropped
    }

    /// Drops the least recently used ready snapshots beyond `capacity` (those being made do not count), never `kept`.
    private static func dropOverCapacity(_ map: inout LRUMap<String, Entry>, capacity: Int, keeping kept: String) -> [GoldenSnapshot] {
        var ready = map.entriesFromOldest().compactMap { entry -> (key: String, snapshot: GoldenSnapshot)? in
            guard case .ready(let snapshot, _) = entry.value, entry.key != kept else { return nil }
            return (entry.key, snapshot)
        }
        var dropped: [GoldenSnapshot] = []
        while ready.count + 1 > capacity, !ready.isEmpty {
            let oldest = ready.removeFirst()
            map.remove(oldest.key)
            dropped.append(oldest.snapshot)
        }
        return dropped
    }
}
