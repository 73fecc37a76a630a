public import Foundation
public import PortcullisCore
import Synchronization

/// Who owns which runtime session, and whether it is still alive.
///
/// For agents reached at an endpoint the gateway runs no sandbox, so a session is only a claim: the first principal
/// that uses an id owns it until it idles out (no invocation in flight for `idleRuntimeSessionTimeout`) or reaches
/// `maxLifetime`. Another principal presenting the id is told it does not exist, and nothing reaches the agent.
/// The directory keeps at most `capacity` sessions; beyond that it forgets the least recently used one.
public final class SessionDirectory: Sendable {
    /// One invocation's hold on a session; hand it back with ``end(_:)``.
    public struct Lease: Sendable {
        public let runtimeId: String
        public let sessionId: String
        /// `opened` when this invocation started the session, else `reused`.
        public let acquisition: SessionAcquisition
        public var isNew: Bool { acquisition.isNew }
    }

    struct Key: Hashable {
        var runtimeId: String
        var sessionId: String
    }

    struct Entry {
        var ownerId: String
        var createdAt: Date
        var lastActivity: Date
        var inFlight: Int
        var lifecycle: LifecycleConfiguration

        func isExpired(at now: Date) -> Bool {
            if now.timeIntervalSince(createdAt) >= Double(lifecycle.maxLifetime) { return true }
            return inFlight == 0 && now.timeIntervalSince(lastActivity) >= Double(lifecycle.idleRuntimeSessionTimeout)
        }
    }

    private let entries = Mutex(LRUMap<Key, Entry>())
    private let capacity: Int
    private let clock: any WallClock

    public init(capacity: Int, clock: any WallClock = SystemWallClock()) {
        self.capacity = max(1, capacity)
        self.clock = clock
    }

    /// Number of sessions currently tracked (expired ones included until the next sweep).
    public var count: Int { entries.withLock { $0.count } }

    /// Starts an invocation in a session: the requested one, or a new one when none is given.
    /// - Throws: `ValidationException` for a malformed id, `ResourceNotFoundException` when another principal owns it.
    public func begin(
        runtimeId: String,
        requestedSessionId: String?,
        principalId: String,
        lifecycle: LifecycleConfiguration
    ) throws(AgentCoreError) -> Lease {
        let sessionId = try RuntimeSessionId.validatedOrGenerated(requestedSessionId)
        let key = Key(runtimeId: runtimeId, sessionId: sessionId)
        let now = clock.now()
        let isNew = try entries.withLock { entries throws(AgentCoreError) -> Bool in
            if var entry = entries.touch(key), !entry.isExpired(at: now) {
                guard entry.ownerId == principalId else { throw Self.notFound(sessionId) }
                entry.inFlight += 1
                entry.lastActivity = now
                entries.set(key, entry)
                return false
            }
            entries.set(key, Entry(ownerId: principalId, createdAt: now, lastActivity: now, inFlight: 1, lifecycle: lifecycle))
            while entries.count > capacity, let oldest = entries.leastRecentlyUsed {
                entries.remove(oldest.key)
            }
            return true
        }
        return Lease(runtimeId: runtimeId, sessionId: sessionId, acquisition: isNew ? .opened : .reused)
    }

    /// Ends an invocation: the idle clock starts again from now.
    public func end(_ lease: Lease) {
        let now = clock.now()
        entries.withLock { entries in
            entries.update(Key(runtimeId: lease.runtimeId, sessionId: lease.sessionId)) { entry in
                entry.inFlight = max(0, entry.inFlight - 1)
                entry.lastActivity = now
            }
        }
    }

    /// Ends a session at the owner's request (StopRuntimeSession).
    /// - Throws: `ResourceNotFoundException` when the session does not exist, has expired, or belongs to someone else.
    public func stop(runtimeId: String, sessionId: String, principalId: String) throws(AgentCoreError) {
        let key = Key(runtimeId: runtimeId, sessionId: sessionId)
        let now = clock.now()
        try entries.withLock { entries throws(AgentCoreError) in
            guard let entry = entries.peek(key), !entry.isExpired(at: now), entry.ownerId == principalId else {
                throw Self.notFound(sessionId)
            }
            entries.remove(key)
        }
    }

    /// Forgets every session of a runtime (it was deleted).
    public func removeAll(runtimeId: String) {
        entries.withLock { entries in
            for (key, _) in entries.entriesFromOldest() where key.runtimeId == runtimeId {
                entries.remove(key)
            }
        }
    }

    /// Drops expired sessions. Returns how many were dropped.
    @discardableResult
    public func sweep() -> Int {
        let now = clock.now()
        return entries.withLock { entries in
            var removed = 0
            for (key, entry) in entries.entriesFromOldest() where entry.isExpired(at: now) {
                entries.remove(key)
                removed += 1
            }
            return removed
        }
    }

    private static func notFound(_ sessionId: String) -> AgentCoreError {
        AgentCoreError(.resourceNotFound, "Runtime session \(sessionId) was not found")
    }
}
