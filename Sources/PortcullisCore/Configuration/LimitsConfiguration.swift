/// `limits`: sizes the gateway accepts.
public struct LimitsConfiguration: Sendable, Equatable, Decodable {
    /// Largest invocation request body (the contract's 100,000,000 bytes).
    public var maxPayloadBytes: Int
    /// Largest control-plane JSON body.
    public var maxControlPlaneBodyBytes: Int
    /// Largest value of a header forwarded to an agent (the contract's 4 KB).
    public var maxForwardedHeaderBytes: Int
    /// Largest WebSocket frame relayed in either direction.
    public var webSocketMaxFrameBytes: Int
    /// Largest WebSocket message (all frames of a fragmented message) relayed in either direction.
    public var webSocketMaxMessageBytes: Int
    /// Largest request body to an MCP runtime: it is read whole so its JSON-RPC method and tool are authorized
    /// before the agent sees it.
    public var maxMcpRequestBytes: Int

    public init(
        maxPayloadBytes: Int = 100_000_000,
        maxControlPlaneBodyBytes: Int = 1_048_576,
        maxForwardedHeaderBytes: Int = 4096,
        webSocketMaxFrameBytes: Int = 1_048_576,
        webSocketMaxMessageBytes: Int = 16_777_216,
        maxMcpRequestBytes: Int = 16_777_216
    ) {
        self.maxPayloadBytes = maxPayloadBytes
        self.maxControlPlaneBodyBytes = maxControlPlaneBodyBytes
        self.maxForwardedHeaderBytes = maxForwardedHeaderBytes
        self.webSocketMaxFrameBytes = webSocketMaxFrameBytes
        self.webSocketMaxMessageBytes = webSocketMaxMessageBytes
        self.maxMcpRequestBytes = maxMcpRequestBytes
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case maxPayloadBytes, maxControlPlaneBodyBytes, maxForwardedHeaderBytes, webSocketMaxFrameBytes, webSocketMaxMessageBytes,
            maxMcpRequestBytes
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = LimitsConfiguration()
        self.maxPayloadBytes = try container.value(.maxPayloadBytes, default: defaults.maxPayloadBytes)
        self.maxControlPlaneBodyBytes = try container.value(.maxControlPlaneBodyBytes, default: defaults.maxControlPlaneBodyBytes)
        self.maxForwardedHeaderBytes = try container.value(.maxForwardedHeaderBytes, default: defaults.maxForwardedHeaderBytes)
        self.webSocketMaxFrameBytes = try container.value(.webSocketMaxFrameBytes, default: defaults.webSocketMaxFrameBytes)
        self.webSocketMaxMessageBytes = try container.value(.webSocketMaxMessageBytes, default: defaults.webSocketMaxMessageBytes)
        self.maxMcpRequestBytes = try container.value(.maxMcpRequestBytes, default: min(defaults.maxMcpRequestBytes, maxPayloadBytes))
        guard (1024...maxPayloadBytes).contains(maxMcpRequestBytes) else {
            throw ConfigurationError("limits: maxMcpRequestBytes must be between 1024 and maxPayloadBytes")
        }
        guard webSocketMaxFrameBytes >= 125, webSocketMaxMessageBytes >= webSocketMaxFrameBytes else {
            throw ConfigurationError("limits: webSocketMaxFrameBytes must be ≥ 125 and ≤ webSocketMaxMessageBytes")
        }
    }
}

/// `upstream`: how the gateway talks to agents.
public struct UpstreamConfiguration: Sendable, Equatable, Decodable {
    public var connectTimeoutSeconds: Double
    /// Longest silence while waiting for an agent's response or its next bytes (the contract's 15-minute sync limit).
    public var readTimeoutSeconds: Double
    /// Longest a streamed response may last (the contract's 60 minutes).
    public var maxStreamSeconds: Double
    /// Idle keep-alive connections kept per agent endpoint and event loop.
    public var maxConnectionsPerHost: Int

    public init(
        connectTimeoutSeconds: Double = 5,
        readTimeoutSeconds: Double = 900,
        maxStreamSeconds: Double = 3600,
        maxConnectionsPerHost: Int = 256
    ) {
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.readTimeoutSeconds = readTimeoutSeconds
        self.maxStreamSeconds = maxStreamSeconds
        self.maxConnectionsPerHost = maxConnectionsPerHost
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case connectTimeoutSeconds, readTimeoutSeconds, maxStreamSeconds, maxConnectionsPerHost
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = UpstreamConfiguration()
        self.connectTimeoutSeconds = try container.value(.connectTimeoutSeconds, default: defaults.connectTimeoutSeconds)
        self.readTimeoutSeconds = try container.value(.readTimeoutSeconds, default: defaults.readTimeoutSeconds)
        self.maxStreamSeconds = try container.value(.maxStreamSeconds, default: defaults.maxStreamSeconds)
        self.maxConnectionsPerHost = try container.value(.maxConnectionsPerHost, default: defaults.maxConnectionsPerHost)
    }
}

/// `sessions`: runtime-session bookkeeping.
public struct SessionLimitsConfiguration: Sendable, Equatable, Decodable {
    /// Sessions whose ownership the gateway remembers for endpoint agents; beyond it the least recently used
    /// session is forgotten (its next call starts a fresh session).
    public var maxTrackedSessions: Int
    /// Days an ended sandboxed session's usage record is kept (for `portcullis usage` and chargeback).
    public var usageRetentionDays: Int

    public init(maxTrackedSessions: Int = 100_000, usageRetentionDays: Int = 400) {
        self.maxTrackedSessions = maxTrackedSessions
        self.usageRetentionDays = usageRetentionDays
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case maxTrackedSessions, usageRetentionDays }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.maxTrackedSessions = try container.value(.maxTrackedSessions, default: 100_000)
        self.usageRetentionDays = try container.value(.usageRetentionDays, default: 400)
        guard maxTrackedSessions > 0 else {
            throw ConfigurationError("sessions.maxTrackedSessions must be positive")
        }
        guard (1...3650).contains(usageRetentionDays) else {
            throw ConfigurationError("sessions.usageRetentionDays must be between 1 and 3650")
        }
    }
}

/// `logging`.
public struct LoggingConfiguration: Sendable, Equatable, Decodable {
    /// How each line is written.
    public enum Format: String, Sendable, Equatable, Decodable {
        /// One JSON object per line (``JSONLogHandler``): what log pipelines ingest.
        case json
        /// `time level label: message key=value`, for reading in a terminal.
        case text
    }

    /// trace, debug, info, notice, warning, error or critical.
    public var level: String
    public var format: Format

    public init(level: String = "info", format: Format = .json) {
        self.level = level
        self.format = format
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case level, format }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.level = try container.value(.level, default: "info")
        self.format = try container.value(.format, default: .json)
        let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
        guard levels.contains(level) else {
            throw ConfigurationError("logging.level must be one of \(levels.joined(separator: ", "))")
        }
    }
}
