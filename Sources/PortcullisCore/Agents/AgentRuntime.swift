public import Foundation

/// Who owns a runtime's definition.
public enum AgentRuntimeOwner: String, Sendable, Codable {
    /// Created and changed through the control-plane API.
    case api
    /// Declared in the configuration file; the file is the source of truth and the API may not change it.
    case configuration
}

/// An agent runtime: the named resource that versions and endpoints belong to.
public struct AgentRuntime: Sendable, Equatable {
    public var id: String
    public var name: String
    public var latestVersion: Int
    public var status: AgentRuntimeStatus
    public var failureReason: String?
    public var createdAt: Date
    public var lastUpdatedAt: Date
    public var tags: [String: String]
    public var owner: AgentRuntimeOwner

    public init(
        id: String,
        name: String,
        latestVersion: Int,
        status: AgentRuntimeStatus,
        failureReason: String? = nil,
        createdAt: Date,
        lastUpdatedAt: Date,
        tags: [String: String] = [:],
        owner: AgentRuntimeOwner = .api
    ) {
        self.id = id
        self.name = name
        self.latestVersion = latestVersion
        self.status = status
        self.failureReason = failureReason
        self.createdAt = createdAt
        self.lastUpdatedAt = lastUpdatedAt
        self.tags = tags
        self.owner = owner
    }

    /// The workload identity created with this runtime is named after its id.
    public var workloadIdentityName: String { id }
}

/// One immutable version of a runtime.
public struct AgentRuntimeVersion: Sendable, Equatable {
    public var runtimeId: String
    public var version: Int
    public var configuration: AgentRuntimeConfiguration
    public var status: AgentRuntimeStatus
    public var failureReason: String?
    public var createdAt: Date

    public init(
        runtimeId: String,
        version: Int,
        configuration: AgentRuntimeConfiguration,
        status: AgentRuntimeStatus,
        failureReason: String? = nil,
        createdAt: Date
    ) {
        self.runtimeId = runtimeId
        self.version = version
        self.configuration = configuration
        self.status = status
        self.failureReason = failureReason
        self.createdAt = createdAt
    }
}

/// A named endpoint of a runtime, pinned to a version. `DEFAULT` always follows the newest version.
public struct AgentRuntimeEndpoint: Sendable, Equatable {
    public static let defaultName = "DEFAULT"

    public var runtimeId: String
    public var name: String
    public var id: String
    public var liveVersion: Int
    public var targetVersion: Int
    public var description: String?
    public var status: AgentRuntimeStatus
    public var failureReason: String?
    public var createdAt: Date
    public var lastUpdatedAt: Date

    public init(
        runtimeId: String,
        name: String,
        id: String,
        liveVersion: Int,
        targetVersion: Int,
        description: String? = nil,
        status: AgentRuntimeStatus,
        failureReason: String? = nil,
        createdAt: Date,
        lastUpdatedAt: Date
    ) {
        self.runtimeId = runtimeId
        self.name = name
        self.id = id
        self.liveVersion = liveVersion
        self.targetVersion = targetVersion
        self.description = description
        self.status = status
        self.failureReason = failureReason
        self.createdAt = createdAt
        self.lastUpdatedAt = lastUpdatedAt
    }
}
