/// Everything a runtime version fixes: created once, never changed (an update makes a new version).
///
/// Members the gateway stores but does not act on (the VPC part of `networkConfiguration`, `authorizerConfiguration`
/// until an authorizer is configured, `filesystemConfigurations`, `metadataConfiguration`) are kept as the JSON the
/// client sent, so GetAgentRuntime returns what was set.
public struct AgentRuntimeConfiguration: Sendable, Equatable, Codable {
    public var artifact: AgentRuntimeArtifact
    public var roleArn: String
    public var description: String?
    public var networkConfiguration: JSONValue
    public var protocolConfiguration: ProtocolConfiguration
    public var lifecycle: LifecycleConfiguration
    public var environmentVariables: [String: String]
    /// Extra request headers forwarded to the agent, as configured (names are compared case-insensitively).
    public var requestHeaderAllowlist: [String]
    public var authorizerConfiguration: JSONValue?
    public var filesystemConfigurations: JSONValue?
    public var metadataConfiguration: JSONValue?

    public init(
        artifact: AgentRuntimeArtifact,
        roleArn: String,
        description: String? = nil,
        networkConfiguration: JSONValue = .object(["networkMode": .string("PUBLIC")]),
        protocolConfiguration: ProtocolConfiguration = ProtocolConfiguration(),
        lifecycle: LifecycleConfiguration = LifecycleConfiguration(),
        environmentVariables: [String: String] = [:],
        requestHeaderAllowlist: [String] = [],
        authorizerConfiguration: JSONValue? = nil,
        filesystemConfigurations: JSONValue? = nil,
        metadataConfiguration: JSONValue? = nil
    ) {
        self.artifact = artifact
        self.roleArn = roleArn
        self.description = description
        self.networkConfiguration = networkConfiguration
        self.protocolConfiguration = protocolConfiguration
        self.lifecycle = lifecycle
        self.environmentVariables = environmentVariables
        self.requestHeaderAllowlist = requestHeaderAllowlist
        self.authorizerConfiguration = authorizerConfiguration
        self.filesystemConfigurations = filesystemConfigurations
        self.metadataConfiguration = metadataConfiguration
    }

    /// Whether callers must present an OAuth bearer token (a `customJWTAuthorizer` is set).
    public var requiresJWTBearer: Bool {
        authorizerConfiguration?["customJWTAuthorizer"] != nil
    }

    /// The runtime's JWT authorizer. `nil` with ``requiresJWTBearer`` set means the stored member no longer reads
    /// as an authorizer, and then no token is accepted.
    public var customJWTAuthorizer: CustomJWTAuthorizer? {
        guard let member = authorizerConfiguration?["customJWTAuthorizer"] else { return nil }
        return try? CustomJWTAuthorizer(json: member)
    }
}
