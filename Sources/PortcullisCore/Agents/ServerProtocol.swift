/// The protocol an agent serves, with the container contract's invocation path.
public enum ServerProtocol: String, Sendable, Codable, CaseIterable {
    case http = "HTTP"
    case mcp = "MCP"
    case a2a = "A2A"
    case agui = "AGUI"

    /// The path invocations are forwarded to.
    public var defaultPath: String {
        switch self {
        case .http, .agui: "/invocations"
        case .mcp: "/mcp"
        case .a2a: "/"
        }
    }

    /// The port the container contract gives the protocol.
    public var defaultPort: Int {
        switch self {
        case .http, .agui: 8080
        case .mcp: 8000
        case .a2a: 9000
        }
    }
}

/// `protocolConfiguration`: the server protocol plus the optional port and path overrides of botocore ≥ 1.44.
public struct ProtocolConfiguration: Sendable, Equatable, Codable {
    public var serverProtocol: ServerProtocol
    public var port: Int?
    public var path: String?

    public init(serverProtocol: ServerProtocol = .http, port: Int? = nil, path: String? = nil) {
        self.serverProtocol = serverProtocol
        self.port = port
        self.path = path
    }

    /// The path invocations go to: the override, or the protocol's default.
    public var invocationPath: String { path ?? serverProtocol.defaultPath }

    /// The port the agent listens on: the override, or the protocol's default.
    public var agentPort: Int { port ?? serverProtocol.defaultPort }
}
