import Foundation
import PortcullisCore

/// The control plane's response bodies, with the model's member names and timestamp formats.
enum AgentRuntimeShapes {
    /// `DateTimestamp` members are ISO 8601.
    static func timestamp(_ date: Date) -> JSONValue {
        .string(date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
    }

    static func artifact(_ artifact: AgentRuntimeArtifact) -> JSONValue {
        switch artifact {
        case .endpoint(let url):
            return .object(["containerConfiguration": .object(["containerUri": .string(url)])])
        case .image(let image):
            return .object(["containerConfiguration": .object(["containerUri": .string(image.uri)])])
        case .code(let code):
            let source: JSONValue
            switch code.source {
            case .path(let path): source = .object(["path": .string(path)])
            case .url(let url): source = .object(["url": .string(url)])
            case .s3(let location):
                var members: [String: JSONValue] = ["bucket": .string(location.bucket), "prefix": .string(location.key)]
                if let versionId = location.versionId { members["versionId"] = .string(versionId) }
                source = .object(["s3": .object(members)])
            }
            return .object([
                "codeConfiguration": .object([
                    "code": source,
                    "runtime": .string(code.runtime),
                    "entryPoint": .array(code.entryPoint.map { .string($0) }),
                ])
            ])
        }
    }

    static func workloadIdentity(_ runtime: AgentRuntime, names: ResourceNames) -> JSONValue {
        .object(["workloadIdentityArn": .string(names.workloadIdentityARN(name: runtime.workloadIdentityName))])
    }

    static func lifecycle(_ lifecycle: LifecycleConfiguration) -> JSONValue {
        .object([
            "idleRuntimeSessionTimeout": .number(Double(lifecycle.idleRuntimeSessionTimeout)),
            "maxLifetime": .number(Double(lifecycle.maxLifetime)),
        ])
    }

    static func protocolConfiguration(_ configuration: ProtocolConfiguration) -> JSONValue {
        var members: [String: JSONValue] = ["serverProtocol": .string(configuration.serverProtocol.rawValue)]
        if let port = configuration.port { members["port"] = .number(Double(port)) }
        if let path = configuration.path { members["path"] = .string(path) }
        return .object(members)
    }

    /// CreateAgentRuntime / UpdateAgentRuntime.
    static func mutation(_ runtime: AgentRuntime, _ version: AgentRuntimeVersion, names: ResourceNames) -> JSONValue {
        .object([
            "agentRuntimeArn": .string(names.runtimeARN(runtimeId: runtime.id)),
            "agentRuntimeId": .string(runtime.id),
            "agentRuntimeVersion": .string(String(version.version)),
            "workloadIdentityDetails": workloadIdentity(runtime, names: names),
            "createdAt": timestamp(runtime.createdAt),
            "lastUpdatedAt": timestamp(version.createdAt),
            "status": .string(runtime.status.rawValue),
        ])
    }

    /// GetAgentRuntime.
    static func detail(_ runtime: AgentRuntime, _ version: AgentRuntimeVersion, names: ResourceNames) -> JSONValue {
        let configuration = version.configuration
        // The newest version shows the runtime's status (an update is UPDATING, not CREATING); older ones their own.
        let isLatest = version.version == runtime.latestVersion
        var members: [String: JSONValue] = [
            "agentRuntimeArn": .string(names.runtimeARN(runtimeId: runtime.id)),
            "agentRuntimeName": .string(runtime.name),
            "agentRuntimeId": .string(runtime.id),
            "agentRuntimeVersion": .string(String(version.version)),
            "createdAt": timestamp(runtime.createdAt),
            "lastUpdatedAt": timestamp(version.createdAt),
            "roleArn": .string(configuration.roleArn),
            "networkConfiguration": configuration.networkConfiguration,
            "status": .string((isLatest ? runtime.status : version.status).rawValue),
            "lifecycleConfiguration": lifecycle(configuration.lifecycle),
            "workloadIdentityDetails": workloadIdentity(runtime, names: names),
            "agentRuntimeArtifact": artifact(configuration.artifact),
            "protocolConfiguration": protocolConfiguration(configuration.protocolConfiguration),
            "environmentVariables": .object(configuration.environmentVariables.mapValues { .string($0) }),
        ]
        if let description = configuration.description { members["description"] = .string(description) }
        if let reason = isLatest ? runtime.failureReason ?? version.failureReason : version.failureReason {
            members["failureReason"] = .string(reason)
        }
        if let authorizer = configuration.authorizerConfiguration { members["authorizerConfiguration"] = authorizer }
        if !configuration.requestHeaderAllowlist.isEmpty {
            members["requestHeaderConfiguration"] = .object([
                "requestHeaderAllowlist": .array(configuration.requestHeaderAllowlist.map { .string($0) })
            ])
        }
        if let filesystems = configuration.filesystemConfigurations { members["filesystemConfigurations"] = filesystems }
        if let metadata = configuration.metadataConfiguration { members["metadataConfiguration"] = metadata }
        return .object(members)
    }

    /// One item of ListAgentRuntimes / ListAgentRuntimeVersions.
    static func summary(_ runtime: AgentRuntime, _ version: AgentRuntimeVersion, names: ResourceNames) -> JSONValue {
        .object([
            "agentRuntimeArn": .string(names.runtimeARN(runtimeId: runtime.id)),
            "agentRuntimeId": .string(runtime.id),
            "agentRuntimeVersion": .string(String(version.version)),
            "agentRuntimeName": .string(runtime.name),
            "description": .string(version.configuration.description ?? ""),
            "lastUpdatedAt": timestamp(version.createdAt),
            "status": .string((version.version == runtime.latestVersion ? runtime.status : version.status).rawValue),
        ])
    }

    /// Get/List/Update of runtime endpoints.
    static func endpoint(_ endpoint: AgentRuntimeEndpoint, names: ResourceNames) -> JSONValue {
        var members: [String: JSONValue] = [
            "name": .string(endpoint.name),
            "id": .string(endpoint.id),
            "liveVersion": .string(String(endpoint.liveVersion)),
            "targetVersion": .string(String(endpoint.targetVersion)),
            "agentRuntimeEndpointArn": .string(names.runtimeEndpointARN(runtimeId: endpoint.runtimeId, endpointName: endpoint.name)),
            "agentRuntimeArn": .string(names.runtimeARN(runtimeId: endpoint.runtimeId)),
            "agentRuntimeId": .string(endpoint.runtimeId),
            "endpointName": .string(endpoint.name),
            "status": .string(endpoint.status.rawValue),
            "createdAt": timestamp(endpoint.createdAt),
            "lastUpdatedAt": timestamp(endpoint.lastUpdatedAt),
        ]
        if let description = endpoint.description { members["description"] = .string(description) }
        if let reason = endpoint.failureReason { members["failureReason"] = .string(reason) }
        return .object(members)
    }
}
