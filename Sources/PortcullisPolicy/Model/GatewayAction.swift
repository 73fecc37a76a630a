public import Cedar

/// What a request asks to do, as the Cedar action `Action::"<name>"` policies name. Actions belong to groups
/// (`Action::"UseAgent"`, `Action::"Administer"`, …) so a policy can grant a family with `action in`.
public enum GatewayAction: String, Sendable, CaseIterable {
    // Data plane.
    case invokeAgent = "InvokeAgent"
    case streamAgent = "StreamAgent"
    case stopSession = "StopSession"
    case callTool = "CallTool"
    // Token vault, for agents' workload identities.
    case getResourceOauth2Token = "GetResourceOauth2Token"
    case getResourceApiKey = "GetResourceApiKey"
    // Control plane.
    case createAgentRuntime = "CreateAgentRuntime"
    case getAgentRuntime = "GetAgentRuntime"
    case updateAgentRuntime = "UpdateAgentRuntime"
    case deleteAgentRuntime = "DeleteAgentRuntime"
    case listAgentRuntimes = "ListAgentRuntimes"
    case listAgentRuntimeVersions = "ListAgentRuntimeVersions"
    case createAgentRuntimeEndpoint = "CreateAgentRuntimeEndpoint"
    case getAgentRuntimeEndpoint = "GetAgentRuntimeEndpoint"
    case updateAgentRuntimeEndpoint = "UpdateAgentRuntimeEndpoint"
    case deleteAgentRuntimeEndpoint = "DeleteAgentRuntimeEndpoint"
    case listAgentRuntimeEndpoints = "ListAgentRuntimeEndpoints"
    // Operations on sandboxed sessions and their usage.
    case listSessions = "ListSessions"
    case getSession = "GetSession"
    case terminateSession = "TerminateSession"
    case getUsage = "GetUsage"
    case getAuditLog = "GetAuditLog"
    // The policy set in force and what it would decide (the admin console's policy pages).
    case getPolicySet = "GetPolicySet"
    case testPolicy = "TestPolicy"
    // Workload identities and credential providers (control plane).
    case createWorkloadIdentity = "CreateWorkloadIdentity"
    case getWorkloadIdentity = "GetWorkloadIdentity"
    case updateWorkloadIdentity = "UpdateWorkloadIdentity"
    case deleteWorkloadIdentity = "DeleteWorkloadIdentity"
    case listWorkloadIdentities = "ListWorkloadIdentities"
    case createCredentialProvider = "CreateCredentialProvider"
    case getCredentialProvider = "GetCredentialProvider"
    case updateCredentialProvider = "UpdateCredentialProvider"
    case deleteCredentialProvider = "DeleteCredentialProvider"
    case listCredentialProviders = "ListCredentialProviders"
    // Minting workload access tokens (data plane, for whoever hosts the agent).
    case getWorkloadAccessToken = "GetWorkloadAccessToken"
    case getWorkloadAccessTokenForJWT = "GetWorkloadAccessTokenForJWT"
    case getWorkloadAccessTokenForUserId = "GetWorkloadAccessTokenForUserId"
    /// Confirming the user of a consent (the application behind a return URL).
    case completeResourceTokenAuth = "CompleteResourceTokenAuth"

    /// The action groups policies grant by; each is itself an action entity.
    public enum Group: String, Sendable, CaseIterable {
        /// Everything a caller does with an agent: invoke, stream, stop its session, call its tools.
        case useAgent = "UseAgent"
        /// Reading credentials from the token vault.
        case useCredentials = "UseCredentials"
        /// Every control-plane operation.
        case administer = "Administer"
        /// The control plane's reads (get and list).
        case readControlPlane = "ReadControlPlane"
        /// Minting workload access tokens for a workload, with or without a user.
        case getWorkloadTokens = "GetWorkloadTokens"

        public var uid: EntityUID { EntityUID(type: PolicyEntityType.action, id: rawValue) }
    }

    public var uid: EntityUID { EntityUID(type: PolicyEntityType.action, id: rawValue) }

    /// The groups this action belongs to.
    public var groups: [Group] {
        switch self {
        case .invokeAgent, .streamAgent, .stopSession, .callTool:
            return [.useAgent]
        case .getResourceOauth2Token, .getResourceApiKey:
            return [.useCredentials]
        case .getAgentRuntime, .listAgentRuntimes, .listAgentRuntimeVersions, .getAgentRuntimeEndpoint, .listAgentRuntimeEndpoints,
            .listSessions, .getSession, .getUsage, .getAuditLog, .getPolicySet, .testPolicy, .getWorkloadIdentity, .listWorkloadIdentities,
            .getCredentialProvider, .listCredentialProviders:
            return [.administer, .readControlPlane]
        case .createAgentRuntime, .updateAgentRuntime, .deleteAgentRuntime, .createAgentRuntimeEndpoint,
            .updateAgentRuntimeEndpoint, .deleteAgentRuntimeEndpoint, .terminateSession, .createWorkloadIdentity,
            .updateWorkloadIdentity, .deleteWorkloadIdentity, .createCredentialProvider, .updateCredentialProvider,
            .deleteCredentialProvider:
            return [.administer]
        case .getWorkloadAccessToken, .getWorkloadAccessTokenForJWT, .getWorkloadAccessTokenForUserId, .completeResourceTokenAuth:
            return [.getWorkloadTokens]
        }
    }

    /// Whether the action is a control-plane operation.
    public var isAdministrative: Bool { groups.contains(.administer) }

    /// This action's entity with its group memberships: all a request needs for `action in Action::"UseAgent"`.
    var entity: Entity { Self.entityByAction[self]! }

    private static let entityByAction: [GatewayAction: Entity] = Dictionary(
        uniqueKeysWithValues: allCases.map { ($0, Entity(uid: $0.uid, parents: Set($0.groups.map(\.uid)))) }
    )

    /// Every action and group entity, for requests recorded or written without them (policy tests, replays).
    static let entities: [Entity] = {
        var entities = Group.allCases.map { Entity(uid: $0.uid) }
        for action in allCases {
            entities.append(Entity(uid: action.uid, parents: Set(action.groups.map(\.uid))))
        }
        return entities
    }()
}
