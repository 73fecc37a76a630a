public import Foundation
public import PortcullisCore

/// One question for the policies: may `principal` do `action` on `resource`, given `context`?
public struct AuthorizationRequest: Sendable {
    public var principal: Principal
    public var action: GatewayAction
    public var resource: PolicyResource
    public var context: RequestConditions

    public init(principal: Principal, action: GatewayAction, resource: PolicyResource, context: RequestConditions) {
        self.principal = principal
        self.action = action
        self.resource = resource
        self.context = context
    }
}

/// What a request acts on.
public enum PolicyResource: Sendable {
    /// An agent runtime (data plane, and control-plane operations on one runtime).
    case agent(AgentFacts)
    /// The gateway as a whole (listing runtimes).
    case gateway
    /// A token-vault credential provider.
    case credentialProvider(CredentialProviderFacts)
    /// A workload identity (control-plane operations on it, and minting its access tokens).
    case workload(WorkloadFacts)
}

/// The facts about a credential provider that policies may test.
public struct CredentialProviderFacts: Sendable {
    public var name: String
    /// `api_key` or `oauth2`.
    public var kind: String
    /// The OAuth 2.0 vendor (`GithubOauth2`, …), for OAuth 2.0 providers that exist.
    public var vendor: String?
    public var tags: [String: String]

    public init(name: String, kind: String, vendor: String? = nil, tags: [String: String] = [:]) {
        self.name = name
        self.kind = kind
        self.vendor = vendor
        self.tags = tags
    }
}

/// The facts about a workload identity that policies may test.
public struct WorkloadFacts: Sendable {
    public var name: String
    /// The runtime that owns it, for runtime-managed identities.
    public var agentName: String?

    public init(name: String, agentName: String? = nil) {
        self.name = name
        self.agentName = agentName
    }
}

/// The facts about an agent runtime that policies may test.
public struct AgentFacts: Sendable {
    public var name: String
    /// The runtime id, when the runtime exists.
    public var id: String?
    public var arn: String?
    /// The version the request reaches (the endpoint's live version), when known.
    public var version: Int?
    /// The endpoint (qualifier) the request names, when it names one.
    public var endpoint: String?
    /// `HTTP`, `MCP` or `A2A`, when the runtime exists.
    public var serverProtocol: String?
    /// Whether the runtime takes bearer tokens through a `customJWTAuthorizer`.
    public var hasJWTAuthorizer: Bool
    public var tags: [String: String]

    public init(
        name: String,
        id: String? = nil,
        arn: String? = nil,
        version: Int? = nil,
        endpoint: String? = nil,
        serverProtocol: String? = nil,
        hasJWTAuthorizer: Bool = false,
        tags: [String: String] = [:]
    ) {
        self.name = name
        self.id = id
        self.arn = arn
        self.version = version
        self.endpoint = endpoint
        self.serverProtocol = serverProtocol
        self.hasJWTAuthorizer = hasJWTAuthorizer
        self.tags = tags
    }
}

/// The request's circumstances, which become the Cedar `context`.
public struct RequestConditions: Sendable {
    /// The client's address as the gateway saw it (not a forwarded header).
    public var sourceAddress: String?
    public var time: Date
    public var sessionId: String?
    /// Custom headers passed through to the agent (`X-Amzn-Bedrock-AgentCore-Runtime-Custom-*`), names lower-cased.
    public var headers: [String: String]
    /// The JSON-RPC call, for requests to MCP runtimes.
    public var mcp: MCPCall?
    /// The provider and scopes a token-vault request asks for.
    public var credentialRequest: CredentialRequest?

    public init(
        sourceAddress: String? = nil,
        time: Date,
        sessionId: String? = nil,
        headers: [String: String] = [:],
        mcp: MCPCall? = nil,
        credentialRequest: CredentialRequest? = nil
    ) {
        self.sourceAddress = sourceAddress
        self.time = time
        self.sessionId = sessionId
        self.headers = headers
        self.mcp = mcp
        self.credentialRequest = credentialRequest
    }
}

/// One MCP JSON-RPC request: its method and, for `tools/call`, the tool's name.
public struct MCPCall: Sendable, Equatable {
    public var method: String
    public var tool: String?

    public init(method: String, tool: String? = nil) {
        self.method = method
        self.tool = tool
    }
}

/// A token-vault request: which provider and which scopes.
public struct CredentialRequest: Sendable, Equatable {
    public var provider: String
    public var scopes: [String]

    public init(provider: String, scopes: [String] = []) {
        self.provider = provider
        self.scopes = scopes
    }
}
