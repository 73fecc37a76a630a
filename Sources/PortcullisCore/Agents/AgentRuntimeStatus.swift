/// Status of an agent runtime, a version or an endpoint, with the model's names.
public enum AgentRuntimeStatus: String, Sendable, Codable, CaseIterable {
    case creating = "CREATING"
    case createFailed = "CREATE_FAILED"
    case updating = "UPDATING"
    case updateFailed = "UPDATE_FAILED"
    case ready = "READY"
    case deleting = "DELETING"
    case deleteFailed = "DELETE_FAILED"
}
