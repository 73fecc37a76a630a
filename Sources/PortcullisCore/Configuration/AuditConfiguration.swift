/// `audit`: the hash-chained audit log.
public struct AuditConfiguration: Sendable, Equatable, Decodable {
    /// Days a record is kept; older ones are removed with the chain kept checkable (see `portcullis audit verify`).
    public var retentionDays: Int

    public init(retentionDays: Int = 400) {
        self.retentionDays = retentionDays
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case retentionDays }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.retentionDays = try container.value(.retentionDays, default: 400)
        guard (1...36_500).contains(retentionDays) else { throw ConfigurationError("audit.retentionDays must be between 1 and 36500") }
    }
}
