public import Foundation
import Logging
public import PortcullisCore
import Synchronization

/// Sandboxes started ahead of need, per agent version, so the first call of a new session does not wait for a cold
/// start — as Firecracker-based platforms keep warm microVMs. A pool is made when a version is first used, kept
/// full while it is used, and dropped once the version has not been asked for during its idle timeout (or its
/// runtime is deleted). A pooled sandbox goes to exactly one session and never back: sessions share nothing. It
/// starts without a session id in its environment, so agents read the id from the request header (the SDK does).
final class SandboxPool: Sendable {
    struct Key: Hashable {
        var runtimeId: String
        var version: Int
    }

    private struct Pool {
        var agent: SandboxedAgent
        var ready: [any Sandbox] = []
        var starting = 0
        var lastUsed: Date
    }

    let size: Int
    private let pools = Mutex<[Key: Pool]>([:])
    /// Starts running in the background, awaited at shutdown so none outlives the driver.
    private let starts = Mutex<[Int: Task<Void, Never>]>([:])
    private let nextStart = Atomic<Int>(0)
    private let start: @Sendable (SandboxedAgent) async -> (any Sandbox)?
    private let clock: any WallClock

    /// - Parameter start: starts a sandbox for the agent and waits until it answers; `nil` when it cannot.
    init(size: Int, clock: any WallClock, start: @escaping @Sendable (SandboxedAgent) async -> (any Sandbox)?) {
        self.size = size
        self.clock = clock
        self.start = start
    }

    /// A ready sandbox of this agent version, if the pool has one. Call ``refill(_:)`` once the session has its
    /// sandbox, so refilling does not compete with a cold start for the CPU.
    func take(_ agent: SandboxedAgent) -> (any Sandbox)? {
        guard size > 0 else { return nil }
        let key = Key(runtimeId: agent.runtimeId, version: agent.version)
        let now = clock.now()
        let (taken, dead) = pools.withLock { pools -> ((any Sandbox)?, [any Sandbox]) in
            var pool = pools[key] ?? Pool(agent: agent, lastUsed: now)
            pool.lastUsed = now
            var dead: [any Sandbox] = []
            var taken: (any Sandbox)?
            while taken == nil, let candidate = pool.ready.popLast() {
                if candidate.hasExited { dead.append(candidate) } else { taken = candidate }
            }
            pools[key] = pool
            return (taken, dead)
        }
        destroyLater(dead)
        return taken
    }

    /// Drops pools not asked for within their agent's idle timeout, and pooled sandboxes whose agent died.
    func sweep() async {
        let now = clock.now()
        let removed = pools.withLock { pools -> [any Sandbox] in
            var removed: [any Sandbox] = []
            for (key, pool) in pools {
                if now.timeIntervalSince(pool.lastUsed) >= Double(pool.agent.lifecycle.idleRuntimeSessionTimeout) {
                    removed += pool.ready
                    pools[key] = nil
                } else {
                    removed += pool.ready.filter(\.hasExited)
                    pools[key]?.ready.removeAll { $0.hasExited }
                }
            }
            return removed
        }
        await destroy(removed)
    }

    /// Drops the pools of one runtime (deleted), or every pool (`nil`: the gateway stops), waiting for starts in
    /// flight, whose sandboxes are destroyed too.
    func drain(runtimeId: String?) async {
        let removed = pools.withLock { pools -> [any Sandbox] in
            var removed: [any Sandbox] = []
            for (key, pool) in pools where runtimeId == nil || key.runtimeId == runtimeId {
                removed += pool.ready
                pools[key] = nil
            }
            return removed
        }
        await destroy(removed)
        if runtimeId == nil {
            for task in starts.withLock({ Array($0.values) }) { await task.value }
        }
    }

    /// Ready sandboxes now, for tests and metrics.
    var readyCount: Int { pools.withLock { $0.values.reduce(0) { $0 + $1.ready.count } } }

    /// Starts sandboxes in the background until the version's pool is full again.
    func refill(_ agent: SandboxedAgent) {
        guard size > 0 else { return }
        let key = Key(runtimeId: agent.runtimeId, version: agent.version)
        // The pool exists while the version is in use (``take(_:)`` made it); a drained one is not refilled.
        let missing = pools.withLock { pools -> Int in
            guard var pool = pools[key] else { return 0 }
            let missing = max(0, size - pool.ready.count - pool.starting)
            pool.starting += missing
            pool.agent = agent
            pools[key] = pool
            return missing
        }
        for _ in 0..<missing {
            let ticket = nextStart.add(1, ordering: .relaxed).newValue
            let task = Task {
                let sandbox = await self.start(agent)
                let orphan = self.pools.withLock { pools -> (any Sandbox)? in
                    guard pools[key] != nil else { return sandbox }
                    pools[key]?.starting -= 1
                    if let sandbox { pools[key]?.ready.append(sandbox) }
                    return nil
                }
                if let orphan { _ = await orphan.destroy() }
                _ = self.starts.withLock { $0.removeValue(forKey: ticket) }
            }
            starts.withLock { $0[ticket] = task }
        }
    }

    private func destroyLater(_ sandboxes: [any Sandbox]) {
        guard !sandboxes.isEmpty else { return }
        Task { await self.destroy(sandboxes) }
    }

    private func destroy(_ sandboxes: [any Sandbox]) async {
        await withTaskGroup(of: Void.self) { group in
            for sandbox in sandboxes { group.addTask { _ = await sandbox.destroy() } }
        }
    }
}
