/// What runs behind an agent runtime.
///
/// On the wire this is the AgentCore `agentRuntimeArtifact` union. An `http://` or `https://` `containerUri` names
/// an agent that already runs elsewhere and serves the container contract (`/invocations`, `/ping`, `/ws`) at that
/// base URL: the *endpoint* kind. A `containerUri` with an image transport (`oci:`, `oci-archive:`, `docker-archive:`)
/// is a container image, and a `codeConfiguration` agent code: the gateway deploys both and runs them, one sandbox
/// per runtime session.
public enum AgentRuntimeArtifact: Sendable, Equatable, Codable {
    /// An agent the operator runs elsewhere, reached at this base URL.
    case endpoint(url: String)
    /// Agent code run in a sandbox per session.
    case code(CodeArtifact)
    /// A container image unpacked into a read-only root, run in a sandbox per session.
    case image(ContainerImage)

    private enum CodingKeys: String, CodingKey { case kind, url, code, image }
    private enum Kind: String, Codable { case endpoint, code, image }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(Kind.self, forKey: .kind) {
        case .endpoint: self = .endpoint(url: try container.decode(String.self, forKey: .url))
        case .code: self = .code(try container.decode(CodeArtifact.self, forKey: .code))
        case .image: self = .image(try container.decode(ContainerImage.self, forKey: .image))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .endpoint(let url):
            try container.encode(Kind.endpoint, forKey: .kind)
            try container.encode(url, forKey: .url)
        case .code(let code):
            try container.encode(Kind.code, forKey: .kind)
            try container.encode(code, forKey: .code)
        case .image(let image):
            try container.encode(Kind.image, forKey: .kind)
            try container.encode(image, forKey: .image)
        }
    }

    /// Whether the gateway runs this agent itself, in a sandbox per session.
    public var runsInSandbox: Bool {
        if case .endpoint = self { return false }
        return true
    }

    /// Where a deployed artifact's files come from (`nil` for an agent that runs elsewhere).
    public var deploymentSource: CodeArtifact.Source? {
        switch self {
        case .endpoint: nil
        case .code(let code): code.source
        case .image(let image): image.location
        }
    }
}
