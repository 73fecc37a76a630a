/// `tracing`: OpenTelemetry traces exported over OTLP/HTTP. Off unless `endpoint` is set. The standard `OTEL_*`
/// environment variables (`OTEL_EXPORTER_OTLP_TRACES_HEADERS` for a collector's credentials, for one) apply on top,
/// so secrets for the collector never have to be written into the file.
public struct TracingConfiguration: Sendable, Equatable, Decodable {
    /// How spans are encoded on the wire (OTLP/HTTP allows both).
    public enum WireProtocol: String, Sendable, Equatable, Decodable {
        case protobuf = "http/protobuf"
        case json = "http/json"
    }

    /// The collector's traces URL, e.g. `http://127.0.0.1:4318/v1/traces` (used exactly as given).
    public var endpoint: String?
    public var wireProtocol: WireProtocol
    /// `service.name` of the gateway's spans.
    public var serviceName: String
    /// The share of new traces recorded (0…1). A caller's sampled `traceparent` is followed either way
    /// (parent-based), so a trace that started upstream is never cut in the middle.
    public var sampleRatio: Double
    /// Whether agents inside sessions get an OTLP/HTTP receiver (reachable only from their sandbox) whose spans
    /// the gateway tags with the session and agent and forwards to `endpoint`. One export may be at most 1 MiB,
    /// the limit of every request to the endpoint inside a sandbox.
    public var agentReceiver: Bool
    /// How long finished spans wait to be exported in a batch.
    public var exportDelaySeconds: Double
    /// How long one export may take, retries included; it also bounds the last flush when the gateway stops, so a
    /// collector that is down delays a shutdown by at most this much.
    public var exportTimeoutSeconds: Double

    public init(
        endpoint: String? = nil,
        wireProtocol: WireProtocol = .protobuf,
        serviceName: String = "portcullis",
        sampleRatio: Double = 1,
        agentReceiver: Bool = true,
        exportDelaySeconds: Double = 5,
        exportTimeoutSeconds: Double = 10
    ) {
        self.endpoint = endpoint
        self.wireProtocol = wireProtocol
        self.serviceName = serviceName
        self.sampleRatio = sampleRatio
        self.agentReceiver = agentReceiver
        self.exportDelaySeconds = exportDelaySeconds
        self.exportTimeoutSeconds = exportTimeoutSeconds
    }

    /// Whether spans are recorded and exported at all.
    public var isEnabled: Bool { endpoint != nil }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case endpoint
        case wireProtocol = "protocol"
        case serviceName, sampleRatio, agentReceiver, exportDelaySeconds, exportTimeoutSeconds
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = TracingConfiguration()
        self.endpoint = try container.decodeIfPresent(String.self, forKey: .endpoint)
        self.wireProtocol = try container.value(.wireProtocol, default: defaults.wireProtocol)
        self.serviceName = try container.value(.serviceName, default: defaults.serviceName)
        self.sampleRatio = try container.value(.sampleRatio, default: defaults.sampleRatio)
        self.agentReceiver = try container.value(.agentReceiver, default: defaults.agentReceiver)
        self.exportDelaySeconds = try container.value(.exportDelaySeconds, default: defaults.exportDelaySeconds)
        self.exportTimeoutSeconds = try container.value(.exportTimeoutSeconds, default: defaults.exportTimeoutSeconds)
        if let endpoint {
            guard let scheme = endpoint.split(separator: ":", maxSplits: 1).first?.lowercased(), scheme == "http" || scheme == "https",
                endpoint.contains("://"), !endpoint.contains("@")
            else {
                throw ConfigurationError("tracing.endpoint must be an http:// or https:// URL without credentials in it")
            }
        }
        guard (0...1).contains(sampleRatio) else {
            throw ConfigurationError("tracing.sampleRatio must be between 0 and 1")
        }
        guard (0.05...60).contains(exportDelaySeconds) else {
            throw ConfigurationError("tracing.exportDelaySeconds must be between 0.05 and 60")
        }
        guard (0.5...60).contains(exportTimeoutSeconds) else {
            throw ConfigurationError("tracing.exportTimeoutSeconds must be between 0.5 and 60")
        }
        guard !serviceName.isEmpty, serviceName.count <= 256 else {
            throw ConfigurationError("tracing.serviceName must be 1-256 characters")
        }
    }
}
