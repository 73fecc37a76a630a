import Foundation
import Logging
import PortcullisCore
import PortcullisStore
import Synchronization

/// The gateway's audit trail: events recorded from anywhere in the gateway, appended in order to the store's hash
/// chain off the request path (every 100 ms, and once more at shutdown). Auditing never slows or fails a request:
/// beyond ``capacity`` waiting events (the store has been failing for a while) new ones are dropped, counted and
/// reported as an error.
///
/// The counters that follow from audited events — refused credentials, vault reads — are counted here, as each
/// event is recorded, so a metric and its audit trail cannot disagree.
final class AuditLog: Sendable {
    static let capacity = 50_000

    private let pending = Mutex<(events: [AuditEvent], dropped: Int)>(([], 0))
    private let store: any AuditStore
    private let metrics: GatewayMetrics
    private let logger: Logger

    init(store: any AuditStore, metrics: GatewayMetrics, logger: Logger) {
        self.store = store
        self.metrics = metrics
        self.logger = logger
    }

    func record(_ event: AuditEvent) {
        count(event)
        pending.withLock { pending in
            if pending.events.count < Self.capacity {
                pending.events.append(event)
            } else {
                pending.dropped += 1
            }
        }
    }

    private func count(_ event: AuditEvent) {
        func detail(_ name: String) -> String { event.details[name]?.stringValue ?? "" }
        switch event.kind {
        case .authenticationFailed:
            metrics.increment(.authenticationFailures, detail("surface") == "admin" ? "control_plane" : "data_plane", detail("reason"))
        case .vaultAccess:
            metrics.increment(.vaultReads, event.action ?? "", detail("flow"), event.outcome)
        case .vaultRevocation:
            metrics.increment(.vaultRevocations, detail("vendor"), detail("result"))
        default:
            break
        }
    }

    /// Appends what waits; on failure it waits for the next flush, in order.
    func flush() async {
        let (events, dropped) = pending.withLock { pending -> ([AuditEvent], Int) in
            defer { pending = ([], 0) }
            return (pending.events, pending.dropped)
        }
        if dropped > 0 { logger.error("audit events dropped: the store did not take them in time", metadata: ["count": "\(dropped)"]) }
        guard !events.isEmpty else { return }
        do {
            try await store.appendAudit(events)
        } catch {
            logger.error("cannot write audit events; they are kept for the next try", metadata: ["count": "\(events.count)", "error": "\(error)"])
            pending.withLock { pending in
                let room = max(0, Self.capacity - pending.events.count)
                pending.dropped += max(0, events.count - room)
                pending.events = Array(events.prefix(room)) + pending.events
            }
        }
    }
}
