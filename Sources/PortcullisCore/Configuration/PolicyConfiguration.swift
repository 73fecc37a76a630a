/// `policies`: where the Cedar policies are and how decisions are kept.
public struct PolicyConfiguration: Sendable, Equatable, Decodable {
    /// What the decision log stores of an allowed request. Denied requests are always stored whole — the
    /// decision, the Cedar request and its entities — so every denial can be explained and evaluated again.
    public enum RecordedAllowed: String, Sendable, Equatable, Decodable {
        /// Logged at debug level only, not stored.
        case none
        /// The decision: who, what, which agent, the policies that allowed it, the policy set.
        case summary
        /// The decision, the Cedar request (context included) and its entities (groups, claims, agent tags).
        case full
    }

    /// The policy directory: `*.cedar` files, optional `schema.cedarschema` and `links.json`.
    public var directory: String
    /// How often the directory is checked for changes; 0 turns polling off (SIGHUP still reloads).
    public var reloadIntervalSeconds: Double
    public var recordAllowed: RecordedAllowed
    /// How long decisions are kept.
    public var decisionRetentionDays: Int

    public init(
        directory: String = "policies",
        reloadIntervalSeconds: Double = 2,
        recordAllowed: RecordedAllowed = .summary,
        decisionRetentionDays: Int = 30
    ) {
        self.directory = directory
        self.reloadIntervalSeconds = reloadIntervalSeconds
        self.recordAllowed = recordAllowed
        self.decisionRetentionDays = decisionRetentionDays
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case directory, reloadIntervalSeconds, recordAllowed, decisionRetentionDays
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = PolicyConfiguration()
        self.directory = try container.value(.directory, default: defaults.directory)
        self.reloadIntervalSeconds = try container.value(.reloadIntervalSeconds, default: defaults.reloadIntervalSeconds)
        self.recordAllowed = try container.value(.recordAllowed, default: defaults.recordAllowed)
        self.decisionRetentionDays = try container.value(.decisionRetentionDays, default: defaults.decisionRetentionDays)
        guard !directory.isEmpty else { throw ConfigurationError("policies.directory must not be empty") }
        guard reloadIntervalSeconds == 0 || (0.1...3600).contains(reloadIntervalSeconds) else {
            throw ConfigurationError("policies.reloadIntervalSeconds must be 0 (off) or between 0.1 and 3600")
        }
        guard (1...3650).contains(decisionRetentionDays) else {
            throw ConfigurationError("policies.decisionRetentionDays must be between 1 and 3650")
        }
    }
}
