public import Foundation
public import PortcullisCore

/// Which audit records a query returns, oldest first (or newest first, for a page of the latest).
public struct AuditQuery: Sendable, Equatable {
    public var kinds: [AuditEvent.Kind]
    public var principal: String?
    public var agentRuntimeId: String?
    public var since: Date?
    public var until: Date?
    /// Continue after this sequence number.
    public var after: Int64?
    /// Only records before this sequence number (paging back from the newest).
    public var before: Int64?
    public var newestFirst: Bool
    public var limit: Int

    public init(
        kinds: [AuditEvent.Kind] = [], principal: String? = nil, agentRuntimeId: String? = nil, since: Date? = nil, until: Date? = nil,
        after: Int64? = nil, before: Int64? = nil, newestFirst: Bool = false, limit: Int = 100
    ) {
        self.kinds = kinds
        self.principal = principal
        self.agentRuntimeId = agentRuntimeId
        self.since = since
        self.until = until
        self.after = after
        self.before = before
        self.newestFirst = newestFirst
        self.limit = limit
    }
}

/// The result of checking the whole chain.
public struct AuditVerification: Sendable, Equatable {
    public var records: Int
    public var firstSequence: Int64?
    public var lastSequence: Int64?
    /// The hash of the newest record: recorded elsewhere, it also proves that no record was cut from the end.
    public var headHash: String
    /// What does not hold, first ones first (at most 100).
    public var problems: [String]

    public var isIntact: Bool { problems.isEmpty }

    public init(records: Int, firstSequence: Int64?, lastSequence: Int64?, headHash: String, problems: [String]) {
        self.records = records
        self.firstSequence = firstSequence
        self.lastSequence = lastSequence
        self.headHash = headHash
        self.problems = problems
    }
}

/// The append-only, hash-chained audit log.
public protocol AuditStore: Sendable {
    /// Appends events in order, each chained to the one before (also across processes sharing the store); returns
    /// their records.
    @discardableResult
    func appendAudit(_ events: [AuditEvent]) async throws -> [AuditRecord]
    func auditRecords(_ query: AuditQuery) async throws -> [AuditRecord]
    /// Walks the whole chain: sequence without gaps, each hash over the previous hash and the body, the columns
    /// the queries use equal to the body.
    func verifyAudit() async throws -> AuditVerification
    /// Removes records older than `date` (retention), keeping the chain checkable: the last removed record's
    /// sequence and hash become the anchor the first remaining one must follow.
    func purgeAudit(before date: Date) async throws -> Int
}
