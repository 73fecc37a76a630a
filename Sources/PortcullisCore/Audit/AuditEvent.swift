public import Foundation

/// One security-relevant event, as the audit log keeps it: who did what to which agent, and how it ended. Every
/// module reports through this one shape; `details` holds what is particular to the kind — never a secret.
public struct AuditEvent: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, CaseIterable, Codable {
        /// A credential was refused (`details.reason`: the failure class, `details.method`).
        case authenticationFailed = "authentication.failed"
        /// The policies denied a request (`action`; `details.policies`: the determining policies, `details.errors`).
        /// Every decision, allowed ones too, is in the decision log with its request.
        case authorizationDenied = "authorization.denied"
        /// A control-plane operation changed something (`action`: the operation; `details.before`/`after`).
        case controlPlaneChange = "controlplane.change"
        /// An API key or access key was created, revoked or rotated.
        case credentialChange = "credential.change"
        case sessionStarted = "session.started"
        /// `details.reason`: idle, maxLifetime, stopped, exited, runtimeDeleted, shutdown, gatewayStopped.
        case sessionEnded = "session.ended"
        /// A new policy set took effect, or a broken one was refused (`outcome`).
        case policyReload = "policy.reload"
        /// A token-vault read (`details.provider`, `details.flow`) — never the token.
        case vaultAccess = "vault.access"
        /// The vault asked a vendor to revoke the token of a grant it deleted (`details.provider`, `details.vendor`,
        /// `details.reason`: providerDeleted, workloadDeleted or refreshAfterDelete; `details.result`: revoked,
        /// alreadyInvalid, unsupported, rejected, unreadable, retrying or abandoned) — never the token.
        case vaultRevocation = "vault.revocation"
    }

    public var time: Date
    public var kind: Kind
    /// The principal's id (`apikey:…`, the user's issuer and subject, …), when there is one.
    public var principal: String?
    public var agentRuntimeId: String?
    /// The operation (`CreateAgentRuntime`, `StopRuntimeSession`, …).
    public var action: String?
    /// `success`, `failure`, `allowed` or `denied`.
    public var outcome: String
    public var requestId: String?
    public var details: [String: JSONValue]

    public init(
        time: Date, kind: Kind, principal: String? = nil, agentRuntimeId: String? = nil, action: String? = nil, outcome: String,
        requestId: String? = nil, details: [String: JSONValue] = [:]
    ) {
        self.time = time
        self.kind = kind
        self.principal = principal
        self.agentRuntimeId = agentRuntimeId
        self.action = action
        self.outcome = outcome
        self.requestId = requestId
        self.details = details
    }
}

/// An audit event with its place in the tamper-evident chain: each record's hash covers the previous record's
/// hash and its own canonical body, so an edited, deleted, inserted or reordered record breaks every hash after it.
public struct AuditRecord: Sendable, Equatable {
    /// 1, 2, 3, … without gaps.
    public var sequence: Int64
    public var event: AuditEvent
    /// The canonical JSON the hash covers (sorted keys, times in milliseconds).
    public var body: String
    public var previousHash: String
    public var hash: String

    public init(sequence: Int64, event: AuditEvent, body: String, previousHash: String, hash: String) {
        self.sequence = sequence
        self.event = event
        self.body = body
        self.previousHash = previousHash
        self.hash = hash
    }

    /// The chain's start: the "previous hash" of record 1.
    public static let genesisHash = String(repeating: "0", count: 64)
}
