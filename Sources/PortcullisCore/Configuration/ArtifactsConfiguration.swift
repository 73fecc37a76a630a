/// `artifacts`: where agent code may come from, how it is fetched and how its dependencies are installed.
///
/// Agents declared in the configuration file may name any path or URL: the file is the operator's. The control
/// plane may name only local paths under `localRoots` and URLs starting with one of `urlPrefixes` — otherwise any
/// caller allowed to create a runtime could copy the gateway host's files into a sandbox, or make the gateway fetch
/// from its internal network.
public struct ArtifactsConfiguration: Sendable, Equatable, Decodable {
    /// Directories (absolute) under which the control plane may name `code.path`.
    public var localRoots: [String]
    /// URL prefixes (`https://artifacts.example.com/agents/`) the control plane may name as `code.url`.
    public var urlPrefixes: [String]
    /// Largest code archive fetched or copied, and largest unpacked size.
    public var maxArchiveMiB: Int
    public var maxUnpackedMiB: Int
    public var downloadTimeoutSeconds: Int
    public var s3: S3Configuration
    public var pip: PipConfiguration
    /// Where dependency layers are kept (one per distinct requirements file and runtime); default
    /// `<store.dataDirectory>/layers`.
    public var layerDirectory: String?

    public init(
        localRoots: [String] = [],
        urlPrefixes: [String] = [],
        maxArchiveMiB: Int = 250,
        maxUnpackedMiB: Int = 750,
        downloadTimeoutSeconds: Int = 300,
        s3: S3Configuration = S3Configuration(),
        pip: PipConfiguration = PipConfiguration(),
        layerDirectory: String? = nil
    ) {
        self.localRoots = localRoots
        self.urlPrefixes = urlPrefixes
        self.maxArchiveMiB = maxArchiveMiB
        self.maxUnpackedMiB = maxUnpackedMiB
        self.downloadTimeoutSeconds = downloadTimeoutSeconds
        self.s3 = s3
        self.pip = pip
        self.layerDirectory = layerDirectory
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case localRoots, urlPrefixes, maxArchiveMiB, maxUnpackedMiB, downloadTimeoutSeconds, s3, pip, layerDirectory
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = ArtifactsConfiguration()
        self.localRoots = try container.value(.localRoots, default: defaults.localRoots)
        self.urlPrefixes = try container.value(.urlPrefixes, default: defaults.urlPrefixes)
        self.maxArchiveMiB = try container.value(.maxArchiveMiB, default: defaults.maxArchiveMiB)
        self.maxUnpackedMiB = try container.value(.maxUnpackedMiB, default: defaults.maxUnpackedMiB)
        self.downloadTimeoutSeconds = try container.value(.downloadTimeoutSeconds, default: defaults.downloadTimeoutSeconds)
        self.s3 = try container.value(.s3, default: defaults.s3)
        self.pip = try container.value(.pip, default: defaults.pip)
        self.layerDirectory = try container.decodeIfPresent(String.self, forKey: .layerDirectory)
        for root in localRoots where !root.hasPrefix("/") || root.split(separator: "/").contains("..") {
            throw ConfigurationError("artifacts.localRoots: '\(root)' must be an absolute path without '..'")
        }
        for prefix in urlPrefixes {
            guard prefix.hasPrefix("https://") || prefix.hasPrefix("http://"),
                prefix.dropFirst(prefix.hasPrefix("https://") ? 8 : 7).contains("/")
            else {
                throw ConfigurationError("artifacts.urlPrefixes: '\(prefix)' must be an http(s) URL with at least a host and '/'")
            }
        }
        guard (1...10_240).contains(maxArchiveMiB), (maxArchiveMiB...40_960).contains(maxUnpackedMiB) else {
            throw ConfigurationError("artifacts.maxArchiveMiB must be 1-10240 and maxUnpackedMiB between it and 40960")
        }
        guard (5...3600).contains(downloadTimeoutSeconds) else {
            throw ConfigurationError("artifacts.downloadTimeoutSeconds must be between 5 and 3600")
        }
        if let layerDirectory, !layerDirectory.hasPrefix("/") {
            throw ConfigurationError("artifacts.layerDirectory must be an absolute path")
        }
    }

    /// Whether the control plane may deploy from this local path (already made absolute and standardized).
    public func allowsLocalPath(_ path: String) -> Bool {
        localRoots.contains { root in
            let base = root.hasSuffix("/") ? String(root.dropLast()) : root
            return path == base || path.hasPrefix(base + "/")
        }
    }

    /// Whether the control plane may deploy from this URL.
    public func allowsURL(_ url: String) -> Bool {
        urlPrefixes.contains { url.hasPrefix($0) }
    }
}

/// `artifacts.s3`: the S3-compatible store `code.s3` objects are read from. Credentials come from environment
/// variables, read when an object is fetched.
public struct S3Configuration: Sendable, Equatable, Decodable {
    /// Base URL of the S3 API; default `https://s3.<region>.amazonaws.com`. Objects are addressed path-style.
    public var endpoint: String?
    /// Signing region; default `resources.region`.
    public var region: String?
    public var accessKeyIdEnv: String
    public var secretAccessKeyEnv: String
    public var sessionTokenEnv: String

    public init(
        endpoint: String? = nil,
        region: String? = nil,
        accessKeyIdEnv: String = "AWS_ACCESS_KEY_ID",
        secretAccessKeyEnv: String = "AWS_SECRET_ACCESS_KEY",
        sessionTokenEnv: String = "AWS_SESSION_TOKEN"
    ) {
        self.endpoint = endpoint
        self.region = region
        self.accessKeyIdEnv = accessKeyIdEnv
        self.secretAccessKeyEnv = secretAccessKeyEnv
        self.sessionTokenEnv = sessionTokenEnv
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case endpoint, region, accessKeyIdEnv, secretAccessKeyEnv, sessionTokenEnv }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = S3Configuration()
        self.endpoint = try container.decodeIfPresent(String.self, forKey: .endpoint)
        self.region = try container.decodeIfPresent(String.self, forKey: .region)
        self.accessKeyIdEnv = try container.value(.accessKeyIdEnv, default: defaults.accessKeyIdEnv)
        self.secretAccessKeyEnv = try container.value(.secretAccessKeyEnv, default: defaults.secretAccessKeyEnv)
        self.sessionTokenEnv = try container.value(.sessionTokenEnv, default: defaults.sessionTokenEnv)
        if let endpoint, !(endpoint.hasPrefix("https://") || endpoint.hasPrefix("http://")) {
            throw ConfigurationError("artifacts.s3.endpoint must be an http:// or https:// URL")
        }
    }
}

/// `artifacts.pip`: how a code version's `requirements.txt` becomes its dependency layer.
public struct PipConfiguration: Sendable, Equatable, Decodable {
    /// Package index; default pip's own (PyPI).
    public var indexURL: String?
    public var extraIndexURLs: [String]
    /// Directories or URLs of wheels (`--find-links`).
    public var findLinks: [String]
    /// Use only `findLinks`, no index.
    public var noIndex: Bool
    /// Install wheels only, so installing never runs a package's build code on the gateway host. Turning it off
    /// lets pip build source distributions as root; only do that for requirements you trust.
    public var onlyBinary: Bool
    public var timeoutSeconds: Int

    public init(
        indexURL: String? = nil,
        extraIndexURLs: [String] = [],
        findLinks: [String] = [],
        noIndex: Bool = false,
        onlyBinary: Bool = true,
        timeoutSeconds: Int = 600
    ) {
        self.indexURL = indexURL
        self.extraIndexURLs = extraIndexURLs
        self.findLinks = findLinks
        self.noIndex = noIndex
        self.onlyBinary = onlyBinary
        self.timeoutSeconds = timeoutSeconds
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case indexURL, extraIndexURLs, findLinks, noIndex, onlyBinary, timeoutSeconds }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = PipConfiguration()
        self.indexURL = try container.decodeIfPresent(String.self, forKey: .indexURL)
        self.extraIndexURLs = try container.value(.extraIndexURLs, default: defaults.extraIndexURLs)
        self.findLinks = try container.value(.findLinks, default: defaults.findLinks)
        self.noIndex = try container.value(.noIndex, default: defaults.noIndex)
        self.onlyBinary = try container.value(.onlyBinary, default: defaults.onlyBinary)
        self.timeoutSeconds = try container.value(.timeoutSeconds, default: defaults.timeoutSeconds)
        guard (10...7200).contains(timeoutSeconds) else { throw ConfigurationError("artifacts.pip.timeoutSeconds must be between 10 and 7200") }
        for value in [indexURL].compactMap({ $0 }) + extraIndexURLs + findLinks where value.isEmpty || value.hasPrefix("-") {
            throw ConfigurationError("artifacts.pip: '\(value)' is not a URL or path")
        }
    }

    /// The pip options these settings stand for, placed before `-r requirements.txt`.
    public var arguments: [String] {
        var arguments: [String] = []
        if let indexURL { arguments += ["--index-url", indexURL] }
        for url in extraIndexURLs { arguments += ["--extra-index-url", url] }
        for link in findLinks { arguments += ["--find-links", link] }
        if noIndex { arguments.append("--no-index") }
        if onlyBinary { arguments += ["--only-binary", ":all:"] }
        return arguments
    }
}
