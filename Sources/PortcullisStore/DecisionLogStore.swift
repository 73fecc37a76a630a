public import Foundation

/// One authorization decision as the decision log keeps it.
public struct AuthorizationDecisionRecord: Sendable, Equatable {
    /// The gateway request that asked (`x-amzn-RequestId`); a request that asked several questions (an MCP call:
    /// InvokeAgent and CallTool) has several records.
    public var requestId: String
    public var decidedAt: Date
    /// Cedar entity uids, e.g. `User::"https://idp.example|alice"`, `Action::"InvokeAgent"`, `Agent::"support"`.
    public var principal: String
    public var action: String
    public var resource: String
    public var allowed: Bool
    /// The determining policy ids.
    public var policies: [String]
    /// The evaluation errors, `policy id: message`.
    public var errors: [String]
    public var deniedByFailedForbid: Bool
    /// The digest of the policy set that decided (see ``PolicySetRecord``).
    public var policySet: String
    /// The Cedar request (principal, action, resource, context) as JSON, when recorded (denials, and allowed
    /// requests with `policies.recordAllowed: full`).
    public var request: String?
    /// The request's entities as Cedar entities JSON, when recorded (as `request`).
    public var entities: String?

    public init(
        requestId: String, decidedAt: Date, principal: String, action: String, resource: String, allowed: Bool,
        policies: [String], errors: [String], deniedByFailedForbid: Bool, policySet: String, request: String?, entities: String?
    ) {
        self.requestId = requestId
        self.decidedAt = decidedAt
        self.principal = principal
        self.action = action
        self.resource = resource
        self.allowed = allowed
        self.policies = policies
        self.errors = errors
        self.deniedByFailedForbid = deniedByFailedForbid
        self.policySet = policySet
        self.request = request
        self.entities = entities
    }
}

/// A policy set that was in force, kept so a decision can be explained with the policies that made it.
public struct PolicySetRecord: Sendable, Equatable {
    public var digest: String
    /// The files, as a JSON array of `{"name", "text"}`.
    public var files: String
    public var activatedAt: Date

    public init(digest: String, files: String, activatedAt: Date) {
        self.digest = digest
        self.files = files
        self.activatedAt = activatedAt
    }
}

/// Persistence of authorization decisions and the policy sets behind them.
public protocol DecisionLogStore: Sendable {
    func insertDecisions(_ records: [AuthorizationDecisionRecord]) async throws
    /// The decisions a request led to, in the order they were made.
    func decisions(requestId: String) async throws -> [AuthorizationDecisionRecord]
    /// The newest decisions first; only denials when `deniedOnly`.
    func recentDecisions(limit: Int, deniedOnly: Bool) async throws -> [AuthorizationDecisionRecord]
    /// Removes decisions made before `date`, and the policy sets no remaining decision names (except `keeping`);
    /// returns how many decisions went.
    func purgeDecisions(before date: Date, keeping policySet: String) async throws -> Int
    /// Records a policy set; recording one already known changes nothing.
    func savePolicySet(_ record: PolicySetRecord) async throws
    func policySet(digest: String) async throws -> PolicySetRecord?
}
