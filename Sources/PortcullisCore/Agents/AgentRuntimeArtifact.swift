/// What runs behind an agent runtime.
///
/// On the wire this is the AgentCore `agentRuntimeArtifact` union. An `http://` or `https://` `containerUri` names
/// an agent that already runs elsewhere and serves the container contract (`/invocations`, `/ping`, `/ws`) at that
/// base URL: the *endpoint* kind. Image and code artifacts run in sandboxes, which the session runtime provides.
public enum AgentRuntimeArtifact: Sendable, Equatable, Codable {
    /// An agent the operator runs elsewhere, reached at this base URL.
    case endpoint(url: String)

    private enum CodingKeys: String, CodingKey { case kind, url }
    private enum Kind: String, Codable { case endpoint }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(Kind.self, forKey: .kind) {
        case .endpoint: self = .endpoint(url: try container.decode(String.self, forKey: .url))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .endpoint(let url):
            try container.encode(Kind.endpoint, forKey: .kind)
            try container.encode(url, forKey: .url)
        }
    }

    /// The `containerUri` this artifact is shown as on the AgentCore wire.
    public var containerURI: String {
        switch self {
        case .endpoint(let url): url
        }
    }
}
