import PortcullisCore

/// What the audit log keeps of a runtime version or endpoint before and after a change: enough to see what changed,
/// nothing secret — environment variables by name only, URLs without their query (a presigned URL's signature).
enum AuditSummary {
    static func version(_ version: AgentRuntimeVersion) -> JSONValue {
        let configuration = version.configuration
        var members: [String: JSONValue] = [
            "version": .number(Double(version.version)),
            "artifact": artifact(configuration.artifact),
            "protocol": .string(configuration.protocolConfiguration.serverProtocol.rawValue),
            "idleRuntimeSessionTimeout": .number(Double(configuration.lifecycle.idleRuntimeSessionTimeout)),
            "maxLifetime": .number(Double(configuration.lifecycle.maxLifetime)),
            "environmentVariableNames": .array(configuration.environmentVariables.keys.sorted().map { .string($0) }),
            "requestHeaderAllowlist": .array(configuration.requestHeaderAllowlist.map { .string($0) }),
            "egressAllowlist": .array(configuration.egressAllowlist.map { .string($0.description) }),
        ]
        if let port = configuration.protocolConfiguration.port { members["port"] = .number(Double(port)) }
        if let authorizer = configuration.customJWTAuthorizer { members["jwtDiscoveryUrl"] = .string(authorizer.discoveryURL) }
        return .object(members)
    }

    static func endpoint(_ endpoint: AgentRuntimeEndpoint) -> JSONValue {
        .object([
            "liveVersion": .number(Double(endpoint.liveVersion)),
            "targetVersion": .number(Double(endpoint.targetVersion)),
            "status": .string(endpoint.status.rawValue),
        ])
    }

    private static func artifact(_ artifact: AgentRuntimeArtifact) -> JSONValue {
        switch artifact {
        case .endpoint(let url): .object(["endpoint": .string(url)])
        case .code(let code): .object(["code": .string(code.source.displayName), "runtime": .string(code.runtime)])
        case .image(let image): .object(["image": .string(String(image.uri.prefix { $0 != "?" }))])
        }
    }

    static func workloadIdentity(_ identity: WorkloadIdentity) -> JSONValue {
        .object(["allowedResourceOauth2ReturnUrls": .array(identity.allowedReturnURLs.map { .string($0) })])
    }

    /// A provider's kind, vendor and non-secret configuration; of its secret only that it was set.
    static func provider(_ record: CredentialProviderRecord, secretReplaced: Bool = false) -> JSONValue {
        var members: [String: JSONValue] = ["kind": .string(record.kind.rawValue)]
        if let vendor = record.vendor { members["vendor"] = .string(vendor) }
        if record.configuration != .null { members["configuration"] = record.configuration }
        if secretReplaced { members["secret"] = .string("replaced") }
        return .object(members)
    }
}
