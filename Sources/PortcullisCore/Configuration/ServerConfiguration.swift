import Foundation

/// `server`: the listener.
public struct ServerConfiguration: Sendable, Equatable, Decodable {
    public var listen: ListenAddress
    public var tls: TLSFiles?
    /// Seconds an idle keep-alive connection stays open.
    public var idleTimeoutSeconds: Int
    /// Upper bound on all request header bytes together.
    public var maxHeaderBytes: Int
    /// Whether this listener also serves the control-plane API (administrators only).
    public var controlPlane: Bool
    /// The URL clients reach the gateway at (`https://agents.example.com`), for OAuth redirect URIs and protected
    /// resource metadata. Without it, the request's scheme and `Host` are used.
    public var publicURL: String?

    public init(
        listen: ListenAddress = ListenAddress(host: "127.0.0.1", port: 8080),
        tls: TLSFiles? = nil,
        idleTimeoutSeconds: Int = 75,
        maxHeaderBytes: Int = 64 * 1024,
        controlPlane: Bool = true,
        publicURL: String? = nil
    ) {
        self.listen = listen
        self.tls = tls
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.maxHeaderBytes = maxHeaderBytes
        self.controlPlane = controlPlane
        self.publicURL = publicURL
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case listen, tls, idleTimeoutSeconds, maxHeaderBytes, controlPlane, publicURL }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = ServerConfiguration()
        self.listen = try ListenAddress(parsing: try container.value(.listen, default: defaults.listen.description))
        self.tls = try container.decodeIfPresent(TLSFiles.self, forKey: .tls)
        self.idleTimeoutSeconds = try container.value(.idleTimeoutSeconds, default: defaults.idleTimeoutSeconds)
        self.maxHeaderBytes = try container.value(.maxHeaderBytes, default: defaults.maxHeaderBytes)
        self.controlPlane = try container.value(.controlPlane, default: defaults.controlPlane)
        self.publicURL = try container.decodeIfPresent(String.self, forKey: .publicURL)
        if let publicURL {
            guard let components = URLComponents(string: publicURL), ["http", "https"].contains(components.scheme ?? ""),
                components.host?.isEmpty == false, components.query == nil, components.fragment == nil
            else {
                throw ConfigurationError("server.publicURL must be an absolute http(s) URL without query, like https://agents.example.com")
            }
            var trimmed = publicURL
            while trimmed.hasSuffix("/") { trimmed.removeLast() }
            self.publicURL = trimmed
        }
        guard idleTimeoutSeconds > 0, maxHeaderBytes >= 8 * 1024 else {
            throw ConfigurationError("server: idleTimeoutSeconds must be positive and maxHeaderBytes at least 8192")
        }
    }
}

/// `server.tls`: PEM files for HTTPS.
public struct TLSFiles: Sendable, Equatable, Decodable {
    /// The certificate chain, leaf first.
    public var certificateChain: String
    public var privateKey: String

    public init(certificateChain: String, privateKey: String) {
        self.certificateChain = certificateChain
        self.privateKey = privateKey
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case certificateChain, privateKey }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.certificateChain = try container.decode(String.self, forKey: .certificateChain)
        self.privateKey = try container.decode(String.self, forKey: .privateKey)
    }
}

/// `HOST:PORT`, with IPv6 hosts in brackets.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init(parsing text: String) throws {
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw ConfigurationError("listen address '\(text)' needs :PORT") }
            portPart = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw ConfigurationError("listen address '\(text)' must be HOST:PORT")
            }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
        }
        guard !hostPart.isEmpty, let port = Int(portPart), (0...65535).contains(port) else {
            throw ConfigurationError("listen address '\(text)' must be HOST:PORT with a port 0-65535")
        }
        self.host = String(hostPart)
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
