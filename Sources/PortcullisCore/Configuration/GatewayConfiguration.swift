/// The whole configuration file (`portcullis serve --config FILE`). Every key is optional; `docs/configuration.md`
/// lists them with their defaults.
public struct GatewayConfiguration: Sendable, Equatable, Decodable {
    public var server: ServerConfiguration
    public var store: StoreConfiguration
    public var resources: ResourceNames
    public var limits: LimitsConfiguration
    public var upstream: UpstreamConfiguration
    public var sessions: SessionLimitsConfiguration
    public var auth: AuthConfiguration
    public var keyRing: KeyRingConfiguration
    public var policies: PolicyConfiguration
    public var sandbox: SandboxConfiguration
    public var artifacts: ArtifactsConfiguration
    public var logging: LoggingConfiguration
    public var audit: AuditConfiguration
    public var metrics: MetricsConfiguration
    public var tracing: TracingConfiguration
    public var vault: VaultConfiguration
    public var agents: [DeclaredAgent]
    /// Set only by `portcullis dev`; never read from a file.
    public var development: DevelopmentSettings?

    public init(
        server: ServerConfiguration = ServerConfiguration(),
        store: StoreConfiguration = StoreConfiguration(),
        resources: ResourceNames = GatewayConfiguration.defaultResourceNames,
        limits: LimitsConfiguration = LimitsConfiguration(),
        upstream: UpstreamConfiguration = UpstreamConfiguration(),
        sessions: SessionLimitsConfiguration = SessionLimitsConfiguration(),
        auth: AuthConfiguration = AuthConfiguration(),
        keyRing: KeyRingConfiguration = KeyRingConfiguration(),
        policies: PolicyConfiguration = PolicyConfiguration(),
        sandbox: SandboxConfiguration = SandboxConfiguration(),
        artifacts: ArtifactsConfiguration = ArtifactsConfiguration(),
        logging: LoggingConfiguration = LoggingConfiguration(),
        audit: AuditConfiguration = AuditConfiguration(),
        metrics: MetricsConfiguration = MetricsConfiguration(),
        tracing: TracingConfiguration = TracingConfiguration(),
        vault: VaultConfiguration = VaultConfiguration(),
        agents: [DeclaredAgent] = [],
        development: DevelopmentSettings? = nil
    ) {
        self.server = server
        self.store = store
        self.resources = resources
        self.limits = limits
        self.upstream = upstream
        self.sessions = sessions
        self.auth = auth
        self.keyRing = keyRing
        self.policies = policies
        self.sandbox = sandbox
        self.artifacts = artifacts
        self.logging = logging
        self.audit = audit
        self.metrics = metrics
        self.tracing = tracing
        self.vault = vault
        self.agents = agents
        self.development = development
    }

    /// The region and account used when the file names none.
    public static let defaultResourceNames = ResourceNames(region: "us-east-1", accountId: "123456789012")

    enum CodingKeys: String, CodingKey, CaseIterable {
        case server, store, resources, limits, upstream, sessions, auth, keyRing, policies, sandbox, artifacts, logging, audit, metrics, tracing, vault, agents
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.server = try container.value(.server, default: ServerConfiguration())
        self.store = try container.value(.store, default: StoreConfiguration())
        self.resources = try container.decodeIfPresent(ResourceNamesConfiguration.self, forKey: .resources)?.names
            ?? Self.defaultResourceNames
        self.limits = try container.value(.limits, default: LimitsConfiguration())
        self.upstream = try container.value(.upstream, default: UpstreamConfiguration())
        self.sessions = try container.value(.sessions, default: SessionLimitsConfiguration())
        self.auth = try container.value(.auth, default: AuthConfiguration())
        self.keyRing = try container.value(.keyRing, default: KeyRingConfiguration())
        self.policies = try container.value(.policies, default: PolicyConfiguration())
        self.sandbox = try container.value(.sandbox, default: SandboxConfiguration())
        self.artifacts = try container.value(.artifacts, default: ArtifactsConfiguration())
        self.logging = try container.value(.logging, default: LoggingConfiguration())
        self.audit = try container.value(.audit, default: AuditConfiguration())
        self.metrics = try container.value(.metrics, default: MetricsConfiguration())
        self.tracing = try container.value(.tracing, default: TracingConfiguration())
        self.vault = try container.value(.vault, default: VaultConfiguration())
        self.agents = try container.value(.agents, default: [])
        self.development = nil
        try validate()
    }

    /// Cross-field checks that decoding alone cannot express.
    public func validate() throws {
        var names = Set<String>()
        for agent in agents where !names.insert(agent.name).inserted {
            throw ConfigurationError("agents: the name '\(agent.name)' is declared twice")
        }
        guard limits.maxPayloadBytes > 0, limits.maxControlPlaneBodyBytes > 0 else {
            throw ConfigurationError("limits: byte limits must be positive")
        }
        guard upstream.connectTimeoutSeconds > 0, upstream.readTimeoutSeconds > 0, upstream.maxStreamSeconds > 0 else {
            throw ConfigurationError("upstream: timeouts must be positive")
        }
    }
}

/// A configuration file that is well-formed but says something impossible.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// `resources`: the partition, region and account that ARNs name.
struct ResourceNamesConfiguration: Decodable {
    var names: ResourceNames

    enum CodingKeys: String, CodingKey, CaseIterable { case partition, region, accountId }

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = GatewayConfiguration.defaultResourceNames
        let accountId = try container.value(.accountId, default: defaults.accountId)
        guard accountId.count == 12, accountId.allSatisfy(\.isASCII), accountId.allSatisfy(\.isNumber) else {
            throw ConfigurationError("resources.accountId must be 12 digits (quote it in YAML)")
        }
        let region = try container.value(.region, default: defaults.region)
        guard !region.isEmpty, region.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }) else {
            throw ConfigurationError("resources.region must look like us-east-1")
        }
        self.names = ResourceNames(
            partition: try container.value(.partition, default: defaults.partition),
            region: region,
            accountId: accountId
        )
    }
}
