/// How long a runtime session may idle and live, in seconds.
public struct LifecycleConfiguration: Sendable, Equatable, Codable {
    /// The contract's bounds for both values.
    public static let allowedSeconds = 60...28_800
    public static let defaultIdleTimeout = 900
    public static let defaultMaxLifetime = 28_800

    public var idleRuntimeSessionTimeout: Int
    public var maxLifetime: Int

    public init(
        idleRuntimeSessionTimeout: Int = LifecycleConfiguration.defaultIdleTimeout,
        maxLifetime: Int = LifecycleConfiguration.defaultMaxLifetime
    ) {
        self.idleRuntimeSessionTimeout = idleRuntimeSessionTimeout
        self.maxLifetime = maxLifetime
    }

    /// Fills in defaults for missing values and checks the contract's bounds (60–28800 s, idle ≤ max lifetime).
    public static func validated(idle: Int?, maxLifetime: Int?, field: String) throws(AgentCoreError) -> LifecycleConfiguration {
        let idle = idle ?? min(defaultIdleTimeout, maxLifetime ?? defaultMaxLifetime)
        let maxLifetime = maxLifetime ?? defaultMaxLifetime
        guard allowedSeconds.contains(maxLifetime) else {
            throw .invalidField("\(field).maxLifetime", "Member must have value between 60 and 28800")
        }
        guard allowedSeconds.contains(idle) else {
            throw .invalidField("\(field).idleRuntimeSessionTimeout", "Member must have value between 60 and 28800")
        }
        guard idle <= maxLifetime else {
            throw .invalidField("\(field).idleRuntimeSessionTimeout", "Member must not exceed maxLifetime")
        }
        return LifecycleConfiguration(idleRuntimeSessionTimeout: idle, maxLifetime: maxLifetime)
    }
}
