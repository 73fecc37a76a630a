import Foundation
import PortcullisCore

/// CreateAgentRuntime and UpdateAgentRuntime bodies, validated into a version configuration.
struct AgentRuntimeRequest {
    var name: String?
    var configuration: AgentRuntimeConfiguration
    var tags: [String: String]
    var clientToken: String?

    /// - Parameter isCreate: CreateAgentRuntime (name and tags allowed) rather than UpdateAgentRuntime.
    init(_ fields: RequestFields, isCreate: Bool) throws(AgentCoreError) {
        if isCreate {
            let name = try fields.string("agentRuntimeName", required: true)!
            guard AgentRuntimeIdentifier.isValidName(name[...]) else {
                throw AgentCoreError.invalidField("agentRuntimeName", "Member must satisfy regular expression pattern: [a-zA-Z][a-zA-Z0-9_]{0,47}")
            }
            self.name = name
            self.tags = try Self.tags(fields)
        } else {
            self.name = nil
            self.tags = [:]
        }
        self.clientToken = try Self.clientToken(fields)
        let artifact = try Self.artifact(fields)
        let roleArn = try fields.string("roleArn", required: true, length: 1...2048)!
        guard Self.isRoleARN(roleArn) else {
            throw AgentCoreError.invalidField("roleArn", "Member must satisfy regular expression pattern: arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+")
        }
        let description = try fields.string("description", length: 1...4096)
        let network = try Self.networkConfiguration(fields)
        let protocolConfiguration = try Self.protocolConfiguration(fields)
        let lifecycleFields = try fields.object("lifecycleConfiguration")
        let lifecycle = try LifecycleConfiguration.validated(
            idle: try lifecycleFields?.integer("idleRuntimeSessionTimeout"),
            maxLifetime: try lifecycleFields?.integer("maxLifetime"),
            field: "lifecycleConfiguration"
        )
        let environment = try fields.stringMap("environmentVariables") ?? [:]
        try AgentRuntimeRules.validateEnvironment(environment)
        let authorizer = try Self.authorizer(fields)
        var allowlist: [String] = []
        if let headerConfiguration = try fields.object("requestHeaderConfiguration") {
            allowlist = try headerConfiguration.stringList("requestHeaderAllowlist") ?? []
            try AgentRuntimeRules.validateHeaderAllowlist(allowlist, allowsAuthorization: authorizer != nil)
        }
        if let filesystems = fields.raw("filesystemConfigurations") {
            guard case .array(let items) = filesystems, items.count <= 5 else {
                throw AgentCoreError.invalidField("filesystemConfigurations", "Member must be a list of at most 5 items")
            }
        }
        self.configuration = AgentRuntimeConfiguration(
            artifact: artifact,
            roleArn: roleArn,
            description: description,
            networkConfiguration: network,
            protocolConfiguration: protocolConfiguration,
            lifecycle: lifecycle,
            environmentVariables: environment,
            requestHeaderAllowlist: allowlist,
            authorizerConfiguration: authorizer,
            filesystemConfigurations: fields.raw("filesystemConfigurations"),
            metadataConfiguration: fields.raw("metadataConfiguration")
        )
    }

    static func clientToken(_ fields: RequestFields) throws(AgentCoreError) -> String? {
        guard let token = try fields.string("clientToken") else { return nil }
        guard ClientToken.isValid(token) else {
            throw AgentCoreError.invalidField("clientToken", "Member must be 33-256 characters matching [a-zA-Z0-9](-*[a-zA-Z0-9]){0,256}")
        }
        return token
    }

    static func tags(_ fields: RequestFields) throws(AgentCoreError) -> [String: String] {
        let tags = try fields.stringMap("tags") ?? [:]
        guard tags.count <= 50 else { throw AgentCoreError.invalidField("tags", "Member must have at most 50 entries") }
        for (key, value) in tags where !(1...128).contains(key.count) || value.count > 256 {
            throw AgentCoreError.invalidField("tags", "Tag keys must be 1-128 and values at most 256 characters")
        }
        return tags
    }

    private static func artifact(_ fields: RequestFields) throws(AgentCoreError) -> AgentRuntimeArtifact {
        let (kind, artifact) = try fields.unionMember("agentRuntimeArtifact", of: ["containerConfiguration", "codeConfiguration"])
        guard kind == "containerConfiguration" else { return .code(try codeArtifact(artifact)) }
        let field = "agentRuntimeArtifact.containerConfiguration.containerUri"
        let uri = try artifact.string("containerUri", required: true, length: 1...2048)!
        if ContainerImage.namesImage(uri) {
            return .image(try ContainerImage(uri: uri, field: field))
        }
        try AgentRuntimeRules.validateEndpointURL(uri, field: field)
        return .endpoint(url: uri)
    }

    /// `codeConfiguration`: `runtime`, `entryPoint` and a `code` that is exactly one of `s3` (the AgentCore shape)
    /// or, as Portcullis extensions for self-hosted artifacts, `path` (a directory or zip on the gateway host) and
    /// `url` (a zip over HTTP(S)).
    private static func codeArtifact(_ fields: RequestFields) throws(AgentCoreError) -> CodeArtifact {
        let runtime = try fields.string("runtime", required: true)!
        guard CodeArtifact.runtimes.contains(runtime) else {
            let message = runtime == "NODE_22"
                ? "NODE_22 is not supported by this gateway; use one of \(CodeArtifact.runtimes.joined(separator: ", "))"
                : "Member must satisfy enum value set: [\(CodeArtifact.runtimes.joined(separator: ", ")), NODE_22]"
            throw AgentCoreError.invalidField(fields.name("runtime"), message)
        }
        let entryPoint = try fields.stringList("entryPoint", required: true)!
        try CodeArtifact.validateEntryPoint(entryPoint, field: fields.name("entryPoint"))
        guard let code = try fields.object("code", required: true) else {
            throw AgentCoreError.invalidField(fields.name("code"), "Member is required")
        }
        let present = ["s3", "path", "url"].filter { code.isPresent($0) }
        guard present.count == 1 else {
            throw AgentCoreError.invalidField(code.path, "Member must set exactly one of s3, path, url")
        }
        let source: CodeArtifact.Source
        switch present[0] {
        case "s3":
            let s3 = try code.object("s3", required: true)!
            source = .s3(
                try S3ObjectLocation.validated(
                    bucket: try s3.string("bucket", required: true)!,
                    key: try s3.string("prefix", required: true)!,
                    versionId: try s3.string("versionId"),
                    field: s3.path
                )
            )
        case "path":
            let path = try code.string("path", required: true, length: 1...4096)!
            guard path.hasPrefix("/"), !path.contains("\0") else {
                throw AgentCoreError.invalidField(code.name("path"), "Member must be an absolute path")
            }
            source = .path(path)
        default:
            let url = try code.string("url", required: true, length: 1...2048)!
            guard let parsed = URL(string: url), parsed.scheme == "https" || parsed.scheme == "http", parsed.host != nil, parsed.user == nil else {
                throw AgentCoreError.invalidField(code.name("url"), "Member must be an http:// or https:// URL without credentials")
            }
            source = .url(url)
        }
        return CodeArtifact(source: source, runtime: runtime, entryPoint: entryPoint)
    }

    private static func networkConfiguration(_ fields: RequestFields) throws(AgentCoreError) -> JSONValue {
        guard let network = try fields.object("networkConfiguration") else {
            return .object(["networkMode": .string("PUBLIC")])
        }
        let mode = try network.string("networkMode", required: true)!
        guard mode == "PUBLIC" || mode == "VPC" else {
            throw AgentCoreError.invalidField("networkConfiguration.networkMode", "Member must satisfy enum value set: [PUBLIC, VPC]")
        }
        // Portcullis extension: where the sandbox may connect through its egress proxy (nowhere without it).
        if let allowlist = try network.stringList("egressAllowlist") {
            do {
                _ = try EgressRule.parse(allowlist)
            } catch {
                throw AgentCoreError.invalidField("networkConfiguration.egressAllowlist", error.message)
            }
        }
        return fields.raw("networkConfiguration")!
    }

    private static func protocolConfiguration(_ fields: RequestFields) throws(AgentCoreError) -> ProtocolConfiguration {
        guard let protocolFields = try fields.object("protocolConfiguration") else { return ProtocolConfiguration() }
        let name = try protocolFields.string("serverProtocol", required: true)!
        guard let serverProtocol = ServerProtocol(rawValue: name) else {
            throw AgentCoreError.invalidField("protocolConfiguration.serverProtocol", "Member must satisfy enum value set: [HTTP, MCP, A2A, AGUI]")
        }
        let configuration = ProtocolConfiguration(
            serverProtocol: serverProtocol,
            port: try protocolFields.integer("port"),
            path: try protocolFields.string("path")
        )
        try AgentRuntimeRules.validateProtocol(configuration)
        return configuration
    }

    private static func authorizer(_ fields: RequestFields) throws(AgentCoreError) -> JSONValue? {
        guard fields.isPresent("authorizerConfiguration") else { return nil }
        _ = try fields.unionMember("authorizerConfiguration", of: ["customJWTAuthorizer"])
        guard let raw = fields.raw("authorizerConfiguration"), let member = raw["customJWTAuthorizer"] else {
            throw AgentCoreError.invalidField("authorizerConfiguration", "Member must set customJWTAuthorizer")
        }
        _ = try CustomJWTAuthorizer(json: member)
        return raw
    }

    private static func isRoleARN(_ text: String) -> Bool {
        let parts = text.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", parts[1] == "aws" || parts[1].hasPrefix("aws-"), parts[2] == "iam", parts[3].isEmpty
        else { return false }
        guard parts[4].isEmpty || (parts[4].count == 12 && parts[4].allSatisfy(\.isNumber)) else { return false }
        return parts[5].hasPrefix("role/") && parts[5].count > 5
    }
}
