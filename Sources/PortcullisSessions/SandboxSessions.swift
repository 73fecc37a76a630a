public import Foundation
public import Logging
public import PortcullisCore
import Synchronization

/// What to start for a session of one runtime version: the sandbox and the agent's port in it.
public struct SandboxedAgent: Sendable {
    public var runtimeId: String
    public var version: Int
    public var command: [String]
    public var environment: [String: String]
    public var filesystem: SandboxFilesystem
    public var limits: SandboxLimits
    public var port: Int
    public var lifecycle: LifecycleConfiguration
    /// Where the sandbox may connect through its egress proxy; none (no proxy) when empty.
    public var egress: [EgressRule]
    /// The configured driver that runs its sessions (`microvm`); `nil`: the gateway's own.
    public var driver: String?

    public init(
        runtimeId: String,
        version: Int,
        command: [String],
        environment: [String: String],
        filesystem: SandboxFilesystem,
        limits: SandboxLimits,
        port: Int,
        lifecycle: LifecycleConfiguration,
        egress: [EgressRule] = [],
        driver: String? = nil
    ) {
        self.runtimeId = runtimeId
        self.version = version
        self.command = command
        self.environment = environment
        self.filesystem = filesystem
        self.limits = limits
        self.port = port
        self.lifecycle = lifecycle
        self.egress = egress
        self.driver = driver
    }
}

/// The runtime sessions that run in sandboxes: one sandbox per session, started on the session's first call, kept
/// for its follow-up calls, and destroyed at idle timeout, at max lifetime, on StopRuntimeSession, when the agent
/// dies, or when the gateway stops.
///
/// A session belongs to the principal whose call started it; another principal presenting its id is told it does
/// not exist. Concurrent first calls of one session share one start. Idle time counts from the last completed call,
/// and not while a call or stream is open or while the agent's `/ping` says `HealthyBusy`.
public final class SandboxSessions: Sendable {
    public struct Quotas: Sendable, Equatable {
        public var maxSessions: Int
        public var maxSessionsPerPrincipal: Int
        /// How long a new sandbox may take until the agent answers.
        public var startTimeoutSeconds: Double

        public init(maxSessions: Int, maxSessionsPerPrincipal: Int, startTimeoutSeconds: Double) {
            self.maxSessions = maxSessions
            self.maxSessionsPerPrincipal = maxSessionsPerPrincipal
            self.startTimeoutSeconds = startTimeoutSeconds
        }
    }

    /// One call's hold on its session; give it back with ``end(_:)``.
    public struct Lease: Sendable {
        public let runtimeId: String
        public let sessionId: String
        public let acquisition: SessionAcquisition
        public let sandbox: any Sandbox
        public let port: Int
    }

    /// What an operator sees of a running session: its record with the usage up to now.
    public struct ActiveSession: Sendable {
        public var record: SessionRecord
        public var lastActivity: Date
        /// Calls and streams open now.
        public var inFlight: Int
    }

    /// Why a session ended.
    public enum EndReason: String, Sendable {
        case idle, maxLifetime, stopped, exited, runtimeDeleted, shutdown
    }

    struct Key: Hashable {
        var runtimeId: String
        var sessionId: String
    }

    private enum Phase {
        case starting(StartGate)
        case running(any Sandbox)
    }

    private struct Entry {
        var ownerId: String
        var version: Int
        var port: Int
        var phase: Phase
        var createdAt: Date
        var lastActivity: Date
        var lastPing: Date
        var inFlight: Int
        var lifecycle: LifecycleConfiguration
        /// The driver running the session's sandbox (its name goes on the session's records).
        var driver: any SandboxDriver
        var memory: MemoryMeter
        var peakMemoryBytes = 0
        var invocations = 0
        var traffic = SessionTraffic()

        var sandbox: (any Sandbox)? {
            if case .running(let sandbox) = phase { return sandbox }
            return nil
        }

        /// The metering record, with `cpuSeconds` as the sandbox reports it now (or finally).
        func record(key: Key, sandbox: any Sandbox, cpuSeconds: Double, at date: Date, ended: EndReason?) -> SessionRecord {
            SessionRecord(
                sandboxId: sandbox.id, runtimeId: key.runtimeId, sessionId: key.sessionId, version: version, ownerId: ownerId, driver: driver.name,
                startedAt: createdAt, endedAt: ended == nil ? nil : date, endReason: ended?.rawValue, updatedAt: date,
                usage: SessionUsage(
                    cpuSeconds: cpuSeconds,
                    memoryGBSeconds: ended == nil ? memory.gbSeconds : memory.total(startedAt: createdAt, endedAt: date),
                    peakMemoryBytes: peakMemoryBytes, invocations: invocations, bytesIn: traffic.bytesIn, bytesOut: traffic.bytesOut
                )
            )
        }
    }

    /// The outcome of one sandbox start, awaited by every call that arrived while it ran.
    final class StartGate: Sendable {
        private let state = Mutex<(result: Result<any Sandbox, AgentCoreError>?, waiters: [CheckedContinuation<Result<any Sandbox, AgentCoreError>, Never>])>(
            (nil, [])
        )

        func finish(_ result: Result<any Sandbox, AgentCoreError>) {
            let waiters = state.withLock { state in
                state.result = result
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume(returning: result) }
        }

        func wait() async -> Result<any Sandbox, AgentCoreError> {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> Result<any Sandbox, AgentCoreError>? in
                    if let result = state.result { return result }
                    state.waiters.append(continuation)
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }

    /// Idle sessions are pinged this often, so `HealthyBusy` background work keeps them alive.
    static let pingInterval: TimeInterval = 5
    /// Running sessions' usage is written this often, so a gateway that dies loses at most this much metering.
    static let checkpointInterval: TimeInterval = 30

    private let entries = Mutex<[Key: Entry]>([:])
    let drivers: SandboxDrivers
    private let quotas: Quotas
    private let clock: any WallClock
    private let logger: Logger
    private let records: RecordQueue?
    private let lastCheckpoint: Mutex<Date>
    private let starter: SandboxStarter
    private let pool: SandboxPool
    private let metrics: GatewayMetrics

    /// - Parameters:
    ///   - warmPoolSize: ready sandboxes kept per agent version once it is used (``SandboxPool``).
    ///   - endpoint: answers the gateway endpoint inside each sandbox (``SandboxEndpointAddress``).
    public init(
        drivers: SandboxDrivers, quotas: Quotas, warmPoolSize: Int = 0, recorder: (any SessionRecorder)? = nil,
        metrics: GatewayMetrics = GatewayMetrics(), endpoint: SandboxEndpointHandler? = nil, clock: any WallClock = SystemWallClock(),
        logger: Logger
    ) {
        self.drivers = drivers
        self.metrics = metrics
        self.quotas = quotas
        self.clock = clock
        self.logger = logger
        self.records = recorder.map(RecordQueue.init)
        self.lastCheckpoint = Mutex(clock.now())
        let starter = SandboxStarter(drivers: drivers, startTimeoutSeconds: quotas.startTimeoutSeconds, endpoint: endpoint, logger: logger)
        self.starter = starter
        self.pool = SandboxPool(size: warmPoolSize, clock: clock) { agent in try? await starter.start(agent, sessionId: nil).get() }
    }

    /// Ready sandboxes waiting in the warm pools.
    public var pooledCount: Int { pool.readyCount }

    /// The name of the gateway's own driver (agents given another say so in their sessions' records).
    public var driverName: String { drivers.standard.name }

    /// Removes what an earlier run left behind. Call once before serving.
    public func prepare() async {
        for driver in drivers.all { await driver.removeLeftovers() }
    }

    public var count: Int { entries.withLock { $0.count } }

    /// Starts a call in a session: the requested one, or a new one when none is given; starts its sandbox if the
    /// session is new (or ended).
    /// - Throws: `ValidationException` for a malformed id, `ResourceNotFoundException` when another principal owns
    ///   the session, `ServiceQuotaExceededException` when a quota is reached, `RuntimeClientError` when the
    ///   sandbox cannot start.
    public func begin(_ agent: SandboxedAgent, requestedSessionId: String?, principalId: String) async throws(AgentCoreError) -> Lease {
        let sessionId = try RuntimeSessionId.validatedOrGenerated(requestedSessionId)
        let key = Key(runtimeId: agent.runtimeId, sessionId: sessionId)
        let now = clock.now()
        enum Step {
            case use(any Sandbox, port: Int)
            case wait(StartGate, port: Int)
            case start(StartGate, ended: (Entry, any Sandbox)?)
        }
        let step = try entries.withLock { entries throws(AgentCoreError) -> Step in
            var ended: (Entry, any Sandbox)?
            if let entry = entries[key], entry.ownerId == principalId, case .running(let sandbox) = entry.phase,
                now.timeIntervalSince(entry.createdAt) >= Double(entry.lifecycle.maxLifetime)
            {
                // Past its lifetime, not yet swept: the call gets a fresh sandbox, as after any ending.
                entries[key] = nil
                ended = (entry, sandbox)
            }
            if var entry = entries[key] {
                guard entry.ownerId == principalId else { throw Self.notFound(sessionId) }
                entry.inFlight += 1
                entry.lastActivity = now
                entries[key] = entry
                switch entry.phase {
                case .running(let sandbox): return .use(sandbox, port: entry.port)
                case .starting(let gate): return .wait(gate, port: entry.port)
                }
            }
            guard entries.count < quotas.maxSessions else {
                throw AgentCoreError(.serviceQuotaExceeded, "The gateway runs its maximum of \(quotas.maxSessions) sessions")
            }
            let owned = entries.values.reduce(0) { $0 + ($1.ownerId == principalId ? 1 : 0) }
            guard owned < quotas.maxSessionsPerPrincipal else {
                throw AgentCoreError(
                    .serviceQuotaExceeded,
                    "You have the maximum of \(quotas.maxSessionsPerPrincipal) open sessions; stop one or let it idle out"
                )
            }
            let gate = StartGate()
            entries[key] = Entry(
                ownerId: principalId, version: agent.version, port: agent.port, phase: .starting(gate), createdAt: now,
                lastActivity: now, lastPing: now, inFlight: 1, lifecycle: agent.lifecycle, driver: drivers.driver(for: agent),
                memory: MemoryMeter(startedAt: now)
            )
            return .start(gate, ended: ended)
        }
        switch step {
        case .use(let sandbox, let port):
            return Lease(runtimeId: agent.runtimeId, sessionId: sessionId, acquisition: .reused, sandbox: sandbox, port: port)
        case .wait(let gate, let port):
            switch await gate.wait() {
            case .success(let sandbox):
                return Lease(runtimeId: agent.runtimeId, sessionId: sessionId, acquisition: .joinedStart, sandbox: sandbox, port: port)
            case .failure(let error):
                throw error
            }
        case .start(let gate, let ended):
            if let (entry, sandbox) = ended { await end(entry, sandbox, key: key, reason: .maxLifetime) }
            var result: Result<any Sandbox, AgentCoreError>
            let startedAt = ContinuousClock.now
            var acquisition = SessionAcquisition.cold
            let driver = drivers.driver(for: agent)
            if let pooled = pool.take(agent) {
                result = .success(pooled)
                acquisition = .pooled
                metrics.observe(.sessionStartDuration, driver.name, "pooled", since: startedAt)
            } else {
                result = await starter.start(agent, sessionId: sessionId)
                if case .success = result { metrics.observe(.sessionStartDuration, driver.name, "cold", since: startedAt) }
            }
            pool.refill(agent)
            let running = entries.withLock { entries -> (kept: Bool, entry: Entry?) in
                guard let entry = entries[key] else { return (false, nil) }
                switch result {
                case .success(let sandbox): entries[key]?.phase = .running(sandbox)
                case .failure: entries[key] = nil
                }
                return (true, entries[key] ?? entry)
            }
            if case .success(let sandbox) = result {
                let entry = running.entry ?? Entry(
                    ownerId: principalId, version: agent.version, port: agent.port, phase: .running(sandbox), createdAt: now,
                    lastActivity: now, lastPing: now, inFlight: 0, lifecycle: agent.lifecycle, driver: driver, memory: MemoryMeter(startedAt: now)
                )
                // Every sandbox that started is recorded as started, so its end (and the active-sessions gauge)
                // always has a start to pair with.
                records?.started(entry.record(key: key, sandbox: sandbox, cpuSeconds: 0, at: clock.now(), ended: nil))
                if !running.kept {
                    // The session was ended (runtime deleted, gateway stopping) while its sandbox started.
                    await end(entry, sandbox, key: key, reason: .shutdown)
                    result = .failure(AgentCoreError(.runtimeClientError, "The session ended while it was starting"))
                }
            }
            gate.finish(result)
            let sandbox = try result.get()
            return Lease(runtimeId: agent.runtimeId, sessionId: sessionId, acquisition: acquisition, sandbox: sandbox, port: agent.port)
        }
    }

    /// Ends a call: the idle clock starts again from now, and the call's traffic is metered.
    public func end(_ lease: Lease, traffic: SessionTraffic = SessionTraffic()) {
        let now = clock.now()
        entries.withLock { entries in
            let key = Key(runtimeId: lease.runtimeId, sessionId: lease.sessionId)
            guard var entry = entries[key], case .running(let sandbox) = entry.phase, sandbox === lease.sandbox else { return }
            entry.inFlight = max(0, entry.inFlight - 1)
            entry.lastActivity = now
            entry.invocations += 1
            entry.traffic.bytesIn += traffic.bytesIn
            entry.traffic.bytesOut += traffic.bytesOut
            entries[key] = entry
        }
    }

    /// Ends a session (StopRuntimeSession, or an administrator): its sandbox is destroyed before this returns.
    /// - Parameter principalId: the caller, who must own the session; `nil` for an administrator, who may end any.
    /// - Throws: `ResourceNotFoundException` when the session does not exist or belongs to someone else.
    public func stop(runtimeId: String, sessionId: String, principalId: String?) async throws(AgentCoreError) {
        let key = Key(runtimeId: runtimeId, sessionId: sessionId)
        let (entry, sandbox) = try entries.withLock { entries throws(AgentCoreError) -> (Entry, any Sandbox) in
            guard let entry = entries[key], principalId == nil || entry.ownerId == principalId else { throw Self.notFound(sessionId) }
            guard case .running(let sandbox) = entry.phase else {
                throw AgentCoreError(.conflict, "Runtime session \(sessionId) is still starting")
            }
            entries[key] = nil
            return (entry, sandbox)
        }
        await end(entry, sandbox, key: key, reason: .stopped)
    }

    /// Ends every session of a runtime (it was deleted), and drops its warm pools.
    public func stopAll(runtimeId: String) async {
        await pool.drain(runtimeId: runtimeId)
        await endAll(reason: .runtimeDeleted) { $0.runtimeId == runtimeId }
    }

    /// Ends every session (the gateway stops), and writes their last records.
    public func shutdown() async {
        await pool.drain(runtimeId: nil)
        await endAll(reason: .shutdown) { _ in true }
        for driver in drivers.all { await driver.shutdown() }
        await records?.close()
    }

    /// The running sessions now, oldest first, with their usage up to now.
    public func activeSessions() -> [ActiveSession] {
        let now = clock.now()
        let snapshot = entries.withLock { $0 }
        return snapshot.compactMap { key, entry -> ActiveSession? in
            guard let sandbox = entry.sandbox else { return nil }
            let usage = sandbox.usage()
            var record = entry.record(key: key, sandbox: sandbox, cpuSeconds: usage.cpuSeconds, at: now, ended: nil)
            record.usage.peakMemoryBytes = max(record.usage.peakMemoryBytes, usage.peakMemoryBytes)
            return ActiveSession(record: record, lastActivity: entry.lastActivity, inFlight: entry.inFlight)
        }
        .sorted { $0.record.startedAt < $1.record.startedAt }
    }

    /// Ends the sessions whose time is up or whose agent died, and pings idle ones for `HealthyBusy`. Called every
    /// second by the session service. Returns how many sessions ended.
    @discardableResult
    public func sweep() async -> Int {
        let now = clock.now()
        var ending: [(Key, Entry, any Sandbox, EndReason)] = []
        var toPing: [(Key, any Sandbox, Int)] = []
        let samples = sampleMemory()
        entries.withLock { entries in
            for (key, bytes) in samples {
                entries[key]?.memory.sample(bytes: bytes.current, at: now)
                if let peak = entries[key]?.peakMemoryBytes, bytes.peak > peak { entries[key]?.peakMemoryBytes = bytes.peak }
            }
            for (key, entry) in entries {
                guard case .running(let sandbox) = entry.phase else { continue }
                if sandbox.hasExited {
                    ending.append((key, entry, sandbox, .exited))
                } else if now.timeIntervalSince(entry.createdAt) >= Double(entry.lifecycle.maxLifetime) {
                    ending.append((key, entry, sandbox, .maxLifetime))
                } else if entry.inFlight == 0, now.timeIntervalSince(entry.lastPing) >= Self.pingInterval
                    || now.timeIntervalSince(entry.lastActivity) >= Double(entry.lifecycle.idleRuntimeSessionTimeout)
                {
                    toPing.append((key, sandbox, entry.port))
                }
            }
            for (key, _, _, _) in ending { entries[key] = nil }
        }
        for (key, sandbox, port) in toPing {
            let status = await sandbox.ping(port: port)
            let expired = entries.withLock { entries -> Entry? in
                guard var entry = entries[key], case .running(let current) = entry.phase, current === sandbox else { return nil }
                let checkedAt = clock.now()
                entry.lastPing = checkedAt
                if status == .healthyBusy { entry.lastActivity = checkedAt }
                let idle = entry.inFlight == 0
                    && checkedAt.timeIntervalSince(entry.lastActivity) >= Double(entry.lifecycle.idleRuntimeSessionTimeout)
                entries[key] = idle ? nil : entry
                return idle ? entry : nil
            }
            if let expired { ending.append((key, expired, sandbox, .idle)) }
        }
        for (key, entry, sandbox, reason) in ending { await end(entry, sandbox, key: key, reason: reason) }
        await pool.sweep()
        checkpointIfDue(at: now)
        return ending.count
    }

    /// Each running sandbox's memory now and at its peak, read outside the lock.
    private func sampleMemory() -> [(Key, (current: Int, peak: Int))] {
        let running = entries.withLock { entries in entries.compactMap { key, entry in entry.sandbox.map { (key, $0) } } }
        return running.map { key, sandbox in
            let usage = sandbox.usage()
            return (key, (usage.memoryBytes, usage.peakMemoryBytes))
        }
    }

    /// Writes every running session's usage when the checkpoint interval has passed.
    private func checkpointIfDue(at now: Date) {
        guard let records else { return }
        let due = lastCheckpoint.withLock { last -> Bool in
            guard now.timeIntervalSince(last) >= Self.checkpointInterval else { return false }
            last = now
            return true
        }
        guard due else { return }
        let active = activeSessions().map(\.record)
        if !active.isEmpty { records.checkpoint(active) }
    }

    // MARK: - Starting and ending sandboxes

    /// Destroys a session's sandbox (its entry already removed) and writes its final record.
    private func end(_ entry: Entry, _ sandbox: any Sandbox, key: Key, reason: EndReason) async {
        let usage = await sandbox.destroy()
        var record = entry.record(key: key, sandbox: sandbox, cpuSeconds: usage.cpuSeconds, at: clock.now(), ended: reason)
        record.usage.peakMemoryBytes = max(record.usage.peakMemoryBytes, usage.peakMemoryBytes)
        await records?.ended(record)
        logger.info(
            "session ended",
            metadata: [
                "agent_runtime": "\(key.runtimeId)", "session_id": "\(key.sessionId)", "sandbox": "\(sandbox.id)", "reason": "\(reason.rawValue)",
                "cpu_seconds": "\(usage.cpuSeconds)", "memory_gb_seconds": "\(record.usage.memoryGBSeconds)",
                "peak_memory_bytes": "\(record.usage.peakMemoryBytes)", "oom_kills": "\(usage.outOfMemoryKills)",
                "invocations": "\(record.usage.invocations)",
            ]
        )
    }

    private func endAll(reason: EndReason, where matches: (Key) -> Bool) async {
        let removed = entries.withLock { entries -> [(Key, Entry, any Sandbox)] in
            var removed: [(Key, Entry, any Sandbox)] = []
            for (key, entry) in entries where matches(key) {
                if case .running(let sandbox) = entry.phase { removed.append((key, entry, sandbox)) }
                // A session still starting is ended by its starter, which finds its entry gone.
                entries[key] = nil
            }
            return removed
        }
        await withTaskGroup(of: Void.self) { group in
            for (key, entry, sandbox) in removed {
                group.addTask { await self.end(entry, sandbox, key: key, reason: reason) }
            }
        }
    }

    private static func notFound(_ sessionId: String) -> AgentCoreError {
        AgentCoreError(.resourceNotFound, "Runtime session \(sessionId) was not found")
    }
}
