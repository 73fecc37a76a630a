import Cedar
import Foundation
import Logging
import NIOPosix
import PortcullisCore
import PortcullisPolicy
import PortcullisStore
import Synchronization

/// Every authorization decision, logged at once and written to the store in batches off the request path.
///
/// The buffer is bounded, with separate room for denials, so a slow or failing store never stalls or exhausts
/// the gateway and a flood of allowed calls cannot push denials out: past the bound, new decisions are dropped
/// and counted, and a warning says how many.
final class DecisionLog: Sendable {
    static let allowedCapacity = 40_000
    static let deniedCapacity = 10_000

    /// A decision as made, turned into its record (JSON and all) only when written, off the request path.
    private struct Decided {
        var decision: AuthorizationDecision
        var requestId: String
        var time: Date
    }

    private enum Entry {
        case decided(Decided)
        /// A record the store refused once, waiting for the next try.
        case record(AuthorizationDecisionRecord)

        var allowed: Bool {
            switch self {
            case .decided(let decided): decided.decision.isAllowed
            case .record(let record): record.allowed
            }
        }
    }

    private struct Pending {
        var records: [Entry] = []
        var allowedCount = 0
        var deniedCount = 0
        var dropped = 0

        mutating func add(_ record: Entry) {
            if record.allowed {
                guard allowedCount < DecisionLog.allowedCapacity else { return dropped += 1 }
                allowedCount += 1
            } else {
                guard deniedCount < DecisionLog.deniedCapacity else { return dropped += 1 }
                deniedCount += 1
            }
            records.append(record)
        }
    }

    private let pending = Mutex(Pending())
    private let store: any DecisionLogStore
    private let recordAllowed: PolicyConfiguration.RecordedAllowed
    private let metrics: GatewayMetrics
    private let logger: Logger

    init(store: any DecisionLogStore, recordAllowed: PolicyConfiguration.RecordedAllowed, metrics: GatewayMetrics, logger: Logger) {
        self.store = store
        self.recordAllowed = recordAllowed
        self.metrics = metrics
        self.logger = logger
    }

    func record(_ decision: AuthorizationDecision, requestId: String, at time: Date) {
        metrics.increment(.policyDecisions, decision.request.action.id, decision.isAllowed ? "allow" : "deny")
        if decision.isAllowed {
            // Built only when debug lines are written: describing the entities is most of a decision's logging cost.
            logger.debug("authorization allowed", metadata: Self.metadata(decision, requestId: requestId))
        } else {
            var denied = Self.metadata(decision, requestId: requestId)
            if !decision.errors.isEmpty { denied["errors"] = "\(decision.errors.joined(separator: "; "))" }
            if decision.deniedByFailedForbid { denied["failed_forbid"] = "true" }
            logger.notice("authorization denied", metadata: denied)
        }
        guard !decision.isAllowed || recordAllowed != .none else { return }
        pending.withLock { $0.add(.decided(Decided(decision: decision, requestId: requestId, time: time))) }
    }

    private static func metadata(_ decision: AuthorizationDecision, requestId: String) -> Logger.Metadata {
        [
            "request_id": "\(requestId)", "principal": "\(decision.request.principal)", "action": "\(decision.request.action)",
            "resource": "\(decision.request.resource)", "policies": "\(decision.determiningPolicies.joined(separator: ","))",
        ]
    }

    private func record(_ entry: Entry) -> AuthorizationDecisionRecord {
        switch entry {
        case .record(let record):
            return record
        case .decided(let decided):
            let decision = decided.decision
            let whole = !decision.isAllowed || recordAllowed == .full
            return AuthorizationDecisionRecord(
                requestId: decided.requestId, decidedAt: decided.time, principal: decision.request.principal.description,
                action: decision.request.action.description, resource: decision.request.resource.description,
                allowed: decision.isAllowed, policies: decision.determiningPolicies, errors: decision.errors,
                deniedByFailedForbid: decision.deniedByFailedForbid, policySet: decision.policySetDigest,
                request: whole ? decision.requestJSON : nil, entities: whole ? decision.entitiesJSON : nil
            )
        }
    }

    /// Writes what is buffered, in the order decided. A batch the store refuses is kept for the next try, within
    /// the same bounds.
    func flush() async {
        let (entries, dropped) = pending.withLock { pending in
            defer { pending = Pending() }
            return (pending.records, pending.dropped)
        }
        if dropped > 0 {
            logger.warning("the decision log fell behind the store; decisions were dropped", metadata: ["dropped": "\(dropped)"])
        }
        guard !entries.isEmpty else { return }
        // Writing the JSON is the costly part: it runs on NIO's blocking pool, not on an event loop that serves requests.
        let batch: [AuthorizationDecisionRecord]
        do {
            batch = try await NIOThreadPool.singleton.runIfActive { entries.map(self.record) }
        } catch {
            logger.error("could not prepare authorization decisions", metadata: ["count": "\(entries.count)", "error": "\(error)"])
            return
        }
        do {
            try await store.insertDecisions(batch)
        } catch {
            logger.error("could not write authorization decisions", metadata: ["count": "\(batch.count)", "error": "\(error)"])
            pending.withLock { pending in
                let newer = pending
                pending = Pending(dropped: newer.dropped)
                for entry in batch.map(Entry.record) + newer.records { pending.add(entry) }
            }
        }
    }

    /// Records the files of a set that came into force, so its decisions can be explained later.
    func save(_ bundle: PolicyBundle, at time: Date) async {
        struct File: Encodable {
            let name: String
            let text: String
        }
        do {
            let files = String(decoding: try JSONEncoder().encode(bundle.files.all.map { File(name: $0.name, text: $0.text) }), as: UTF8.self)
            try await store.savePolicySet(PolicySetRecord(digest: bundle.digest, files: files, activatedAt: time))
        } catch {
            logger.error("could not record the policy set", metadata: ["digest": "\(bundle.digest)", "error": "\(error)"])
        }
    }
}
