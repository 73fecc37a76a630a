/// Who made a request, after authentication: one shape for every credential type so authorization, sessions
/// and audit never care how the caller proved it.
public struct Principal: Sendable, Equatable, Codable {
    /// How the caller authenticated.
    public enum Method: String, Sendable, Codable {
        case apiKey = "api_key"
        case jwt
        case sigV4 = "sigv4"
        /// An agent presenting a workload access token to the token vault.
        case workload
    }

    public var method: Method
    /// The stable identity key: `apikey:<id>` for API keys, `<issuer>|<subject>` for tokens, `workload:<name>` for
    /// an agent's workload identity.
    public var id: String
    /// A human-readable name for logs and audit (an API key's name, a token's subject).
    public var displayName: String
    /// The canonical issuer (`iss`) of a token; for Entra the v2 form, so v1 and v2 tokens of a user agree.
    public var issuer: String?
    /// The configured name of the issuer that vouched for a token (`auth.issuers[].name`).
    public var issuerName: String?
    public var subject: String?
    public var tenant: String?
    public var clientId: String?
    public var groups: [String]
    /// The IdP had more groups than fit in the token (Entra's groups overage): `groups` is not the whole list, so
    /// nothing may be concluded from a group's absence.
    public var groupsIncomplete: Bool
    public var scopes: [String]
    /// The token's audiences.
    public var audiences: [String]
    /// The agents this credential may invoke.
    public var agentScope: AgentScope
    /// Whether this credential may use the control plane.
    public var isAdministrator: Bool
    /// Whether this credential may name the end user it invokes for (`X-Amzn-Bedrock-AgentCore-Runtime-User-Id`).
    public var mayActForUsers: Bool
    /// Raw token claims, kept for policies.
    public var claims: [String: JSONValue]
    /// The end user a trusted caller invokes on behalf of (`X-Amzn-Bedrock-AgentCore-Runtime-User-Id`); for a
    /// workload, the user its access token is bound to.
    public var actingForUser: String?
    /// For a workload: the name of the agent runtime it belongs to, when a runtime owns it.
    public var agentName: String?

    public init(
        method: Method,
        id: String,
        displayName: String,
        issuer: String? = nil,
        issuerName: String? = nil,
        subject: String? = nil,
        tenant: String? = nil,
        clientId: String? = nil,
        groups: [String] = [],
        groupsIncomplete: Bool = false,
        scopes: [String] = [],
        audiences: [String] = [],
        agentScope: AgentScope,
        isAdministrator: Bool = false,
        mayActForUsers: Bool = false,
        claims: [String: JSONValue] = [:],
        actingForUser: String? = nil,
        agentName: String? = nil
    ) {
        self.method = method
        self.id = id
        self.displayName = displayName
        self.issuer = issuer
        self.issuerName = issuerName
        self.subject = subject
        self.tenant = tenant
        self.clientId = clientId
        self.groups = groups
        self.groupsIncomplete = groupsIncomplete
        self.scopes = scopes
        self.audiences = audiences
        self.agentScope = agentScope
        self.isAdministrator = isAdministrator
        self.mayActForUsers = mayActForUsers
        self.claims = claims
        self.actingForUser = actingForUser
        self.agentName = agentName
    }

    /// A workload presenting its access token: `Workload::"<name>"` to the policies.
    public static func workload(name: String, agentName: String?, user: WorkloadUser?) -> Principal {
        Principal(
            method: .workload, id: "workload:" + name, displayName: name, agentScope: .named([]), actingForUser: user?.displayName,
            agentName: agentName
        )
    }

    /// Who owns the sessions this principal starts: the principal itself, or the end user it acts for, so one
    /// service acting for two users never shares a session between them.
    public var sessionOwner: String {
        guard let actingForUser else { return id }
        return id + "#user:" + actingForUser
    }
}

/// The agents a credential is good for.
public enum AgentScope: Sendable, Equatable, Codable {
    /// Every agent runtime.
    case all
    /// Only the runtimes with these names.
    case named(Set<String>)

    /// Whether `runtimeName` is within this scope.
    public func allows(_ runtimeName: String) -> Bool {
        switch self {
        case .all: true
        case .named(let names): names.contains(runtimeName)
        }
    }

    /// The scope as stored and shown: `["*"]` for all agents.
    public var names: [String] {
        switch self {
        case .all: ["*"]
        case .named(let names): names.sorted()
        }
    }

    /// Parses the stored form: `*` means all agents.
    public init(names: [String]) {
        self = names.contains("*") ? .all : .named(Set(names))
    }

    public init(from decoder: any Decoder) throws {
        self.init(names: try decoder.singleValueContainer().decode([String].self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(names)
    }
}
