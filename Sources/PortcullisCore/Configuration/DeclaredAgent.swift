import Foundation

/// An agent declared in the configuration file (`agents:`). The file is its source of truth: at start-up the
/// gateway creates it, makes a new version when the declaration changed, and removes it when it is no longer listed.
public struct DeclaredAgent: Sendable, Equatable, Decodable {
    public var name: String
    public var configuration: AgentRuntimeConfiguration
    public var tags: [String: String]

    public init(name: String, configuration: AgentRuntimeConfiguration, tags: [String: String] = [:]) {
        self.name = name
        self.configuration = configuration
        self.tags = tags
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, endpoint, code, image, description, `protocol`, port, path, requestHeaderAllowlist, idleRuntimeSessionTimeout,
            maxLifetime, environmentVariables, tags, customJWTAuthorizer, egress
    }

    /// The role ARN recorded for declared agents, which have no AWS role.
    public static let roleArn = "arn:aws:iam::000000000000:role/portcullis-declared-agent"

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let name = try container.decode(String.self, forKey: .name)
        guard AgentRuntimeIdentifier.isValidName(name[...]) else {
            throw ConfigurationError("agents: name '\(name)' must match [a-zA-Z][a-zA-Z0-9_]{0,47}")
        }
        self.name = name
        do {
            let artifact: AgentRuntimeArtifact
            switch (
                try container.decodeIfPresent(String.self, forKey: .endpoint),
                try container.decodeIfPresent(DeclaredCode.self, forKey: .code),
                try container.decodeIfPresent(String.self, forKey: .image)
            ) {
            case (let endpoint?, nil, nil):
                try AgentRuntimeRules.validateEndpointURL(endpoint, field: "agents[\(name)].endpoint")
                artifact = .endpoint(url: endpoint)
            case (nil, nil, let image?):
                artifact = .image(try ContainerImage(uri: image, field: "agents[\(name)].image"))
            case (nil, let code?, nil):
                try CodeArtifact.validateEntryPoint(code.entryPoint, field: "agents[\(name)].code.entryPoint")
                guard CodeArtifact.interpreterName(of: code.runtime) != nil else {
                    throw ConfigurationError("agents[\(name)].code.runtime must be one of \(CodeArtifact.runtimes.joined(separator: ", "))")
                }
                artifact = .code(CodeArtifact(source: code.source, runtime: code.runtime, entryPoint: code.entryPoint))
            default:
                throw ConfigurationError("agents[\(name)] needs exactly one of endpoint (a running agent), code (agent code to run) and image (a container image to run)")
            }
            let description = try container.decodeIfPresent(String.self, forKey: .description)
            try AgentRuntimeRules.validateDescription(description, field: "agents[\(name)].description")
            let protocolConfiguration = ProtocolConfiguration(
                serverProtocol: try container.value(.protocol, default: ServerProtocol.http),
                port: try container.decodeIfPresent(Int.self, forKey: .port),
                path: try container.decodeIfPresent(String.self, forKey: .path)
            )
            try AgentRuntimeRules.validateProtocol(protocolConfiguration, field: "agents[\(name)]")
            let authorizer = try container.decodeIfPresent(JSONValue.self, forKey: .customJWTAuthorizer)
            if let authorizer {
                _ = try CustomJWTAuthorizer(json: authorizer, field: "agents[\(name)].customJWTAuthorizer")
            }
            let allowlist = try container.value(.requestHeaderAllowlist, default: [String]())
            if !allowlist.isEmpty {
                try AgentRuntimeRules.validateHeaderAllowlist(
                    allowlist,
                    allowsAuthorization: authorizer != nil,
                    field: "agents[\(name)].requestHeaderAllowlist"
                )
            }
            let environment = try container.value(.environmentVariables, default: [String: String]())
            try AgentRuntimeRules.validateEnvironment(environment, field: "agents[\(name)].environmentVariables")
            let lifecycle = try LifecycleConfiguration.validated(
                idle: try container.decodeIfPresent(Int.self, forKey: .idleRuntimeSessionTimeout),
                maxLifetime: try container.decodeIfPresent(Int.self, forKey: .maxLifetime),
                field: "agents[\(name)]"
            )
            let egress = try container.value(.egress, default: [String]())
            do {
                _ = try EgressRule.parse(egress)
            } catch {
                throw ConfigurationError("agents[\(name)].egress: \(error.message)")
            }
            var network: [String: JSONValue] = ["networkMode": .string("PUBLIC")]
            if !egress.isEmpty { network["egressAllowlist"] = .array(egress.map { .string($0) }) }
            self.configuration = AgentRuntimeConfiguration(
                artifact: artifact,
                roleArn: Self.roleArn,
                description: description,
                networkConfiguration: .object(network),
                protocolConfiguration: protocolConfiguration,
                lifecycle: lifecycle,
                environmentVariables: environment,
                requestHeaderAllowlist: allowlist,
                authorizerConfiguration: authorizer.map { .object(["customJWTAuthorizer": $0]) }
            )
        } catch let error as AgentCoreError {
            throw ConfigurationError(error.fields.first.map { "\($0.name): \($0.message)" } ?? error.message)
        }
        self.tags = try container.value(.tags, default: [:])
    }
}

/// `agents[].code`: agent code the gateway runs in a sandbox per session, from exactly one of a local `path`, a
/// `url` or an `s3` object.
struct DeclaredCode: Decodable {
    var source: CodeArtifact.Source
    var entryPoint: [String]
    var runtime: String

    enum CodingKeys: String, CodingKey, CaseIterable { case path, url, s3, entryPoint, runtime }

    struct DeclaredS3: Decodable {
        var bucket: String
        var prefix: String
        var versionId: String?
        enum CodingKeys: String, CodingKey, CaseIterable { case bucket, prefix, versionId }
        init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.bucket = try container.decode(String.self, forKey: .bucket)
            self.prefix = try container.decode(String.self, forKey: .prefix)
            self.versionId = try container.decodeIfPresent(String.self, forKey: .versionId)
        }
    }

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.entryPoint = try container.decode([String].self, forKey: .entryPoint)
        self.runtime = try container.value(.runtime, default: "PYTHON_3_11")
        let path = try container.decodeIfPresent(String.self, forKey: .path)
        let url = try container.decodeIfPresent(String.self, forKey: .url)
        let s3 = try container.decodeIfPresent(DeclaredS3.self, forKey: .s3)
        switch (path, url, s3) {
        case (let path?, nil, nil):
            guard !path.isEmpty, !path.contains("\0") else { throw ConfigurationError("agents[].code.path must not be empty") }
            self.source = .path(path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path)
        case (nil, let url?, nil):
            guard url.hasPrefix("https://") || url.hasPrefix("http://"), URL(string: url)?.host != nil else {
                throw ConfigurationError("agents[].code.url must be an http:// or https:// URL")
            }
            self.source = .url(url)
        case (nil, nil, let s3?):
            do {
                self.source = .s3(try S3ObjectLocation.validated(bucket: s3.bucket, key: s3.prefix, versionId: s3.versionId, field: "code.s3"))
            } catch {
                throw ConfigurationError("agents[].\(error.fields.first.map { "\($0.name): \($0.message)" } ?? error.message)")
            }
        default:
            throw ConfigurationError("agents[].code needs exactly one of path, url and s3")
        }
    }
}
