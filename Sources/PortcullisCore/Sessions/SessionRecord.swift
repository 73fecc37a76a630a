public import Foundation

/// What a runtime session used, for metering and chargeback: CPU time from the sandbox's cgroup (so waiting on I/O
/// costs nothing), memory as sampled GB-seconds, and the calls and bytes that went through the gateway.
public struct SessionUsage: Sendable, Equatable, Codable {
    public var cpuSeconds: Double
    /// Memory × time in GiB-seconds, sampled every second with AgentCore's minimums: at least 128 MiB per sample
    /// and at least one second per session.
    public var memoryGBSeconds: Double
    public var peakMemoryBytes: Int
    /// Calls that reached the session (an HTTP request or a WebSocket connection each).
    public var invocations: Int
    /// Request body bytes sent to the agent and response body bytes sent back (WebSocket payloads included).
    public var bytesIn: Int
    public var bytesOut: Int

    public init(cpuSeconds: Double = 0, memoryGBSeconds: Double = 0, peakMemoryBytes: Int = 0, invocations: Int = 0, bytesIn: Int = 0, bytesOut: Int = 0) {
        self.cpuSeconds = cpuSeconds
        self.memoryGBSeconds = memoryGBSeconds
        self.peakMemoryBytes = peakMemoryBytes
        self.invocations = invocations
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
    }
}

/// One runtime session as metering keeps it: written when its sandbox runs, every checkpoint while it lives, and
/// when it ends.
public struct SessionRecord: Sendable, Equatable {
    /// Unique per sandbox: a session id reused after its session ended names a new record.
    public var sandboxId: String
    public var runtimeId: String
    public var sessionId: String
    public var version: Int
    /// The principal the session belongs to (``Principal/sessionOwner``).
    public var ownerId: String
    /// The sandbox driver that ran it (`bubblewrap`).
    public var driver: String
    public var startedAt: Date
    public var endedAt: Date?
    /// Why it ended (``SandboxSessions/EndReason``, or `gatewayStopped` for a session a crash cut short).
    public var endReason: String?
    /// When the usage was last brought up to date.
    public var updatedAt: Date
    public var usage: SessionUsage

    public init(
        sandboxId: String, runtimeId: String, sessionId: String, version: Int, ownerId: String, driver: String, startedAt: Date,
        endedAt: Date?, endReason: String?, updatedAt: Date, usage: SessionUsage
    ) {
        self.sandboxId = sandboxId
        self.runtimeId = runtimeId
        self.sessionId = sessionId
        self.version = version
        self.ownerId = ownerId
        self.driver = driver
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.endReason = endReason
        self.updatedAt = updatedAt
        self.usage = usage
    }

    public var isActive: Bool { endedAt == nil }
}
