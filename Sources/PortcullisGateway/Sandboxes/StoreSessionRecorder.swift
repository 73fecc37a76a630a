import Foundation
import Logging
import PortcullisCore
import PortcullisSessions
import PortcullisStore
import Synchronization

/// Keeps sandboxed sessions' metering records in the store, audits their starts and ends, and counts them in the
/// session metrics (usage as it grows, from each checkpoint).
struct StoreSessionRecorder: SessionRecorder {
    let store: any SessionUsageStore
    let audit: AuditLog
    let metrics: GatewayMetrics
    let traces: SandboxTraceIndex
    let logger: Logger
    /// The usage each running session had at its last record, so the usage counters grow by what is new.
    private let counted = Counted()

    init(store: any SessionUsageStore, audit: AuditLog, metrics: GatewayMetrics, traces: SandboxTraceIndex, logger: Logger) {
        self.store = store
        self.audit = audit
        self.metrics = metrics
        self.traces = traces
        self.logger = logger
    }

    private final class Counted: Sendable {
        let usage = Mutex<[String: SessionUsage]>([:])
    }

    func started(_ session: SessionRecord) async {
        metrics.increment(.sessionsStarted, session.runtimeId, session.driver)
        metrics.adjust(.sessionsActive, session.runtimeId, session.driver, by: 1)
        await record([session])
        audit.record(Self.event(.sessionStarted, session, at: session.startedAt))
    }

    func ended(_ session: SessionRecord) async {
        traces.ended(sandboxId: session.sandboxId)
        metrics.increment(.sessionsEnded, session.runtimeId, session.driver, session.endReason ?? "")
        metrics.adjust(.sessionsActive, session.runtimeId, session.driver, by: -1)
        await record([session])
        var event = Self.event(.sessionEnded, session, at: session.endedAt ?? session.updatedAt)
        event.details["reason"] = .string(session.endReason ?? "")
        event.details["cpuSeconds"] = .number(session.usage.cpuSeconds)
        event.details["invocations"] = .number(Double(session.usage.invocations))
        audit.record(event)
    }

    private static func event(_ kind: AuditEvent.Kind, _ session: SessionRecord, at time: Date) -> AuditEvent {
        AuditEvent(
            time: time, kind: kind, principal: session.ownerId, agentRuntimeId: session.runtimeId, outcome: "success",
            details: ["runtimeSessionId": .string(session.sessionId), "sandboxId": .string(session.sandboxId), "driver": .string(session.driver)]
        )
    }

    func record(_ sessions: [SessionRecord]) async {
        countUsage(sessions)
        do {
            try await store.saveSessions(sessions)
        } catch {
            logger.error("could not record session usage", metadata: ["sessions": "\(sessions.count)", "error": "\(error)"])
        }
    }

    private func countUsage(_ sessions: [SessionRecord]) {
        let grown = counted.usage.withLock { counted in
            sessions.map { session -> (SessionRecord, cpu: Double, memory: Double) in
                let before = counted[session.sandboxId]
                if session.isActive { counted[session.sandboxId] = session.usage } else { counted[session.sandboxId] = nil }
                return (session, max(0, session.usage.cpuSeconds - (before?.cpuSeconds ?? 0)),
                    max(0, session.usage.memoryGBSeconds - (before?.memoryGBSeconds ?? 0)))
            }
        }
        for (session, cpu, memory) in grown {
            if cpu > 0 { metrics.increment(.sandboxCPUSeconds, session.runtimeId, session.driver, by: cpu) }
            if memory > 0 { metrics.increment(.sandboxMemoryGBSeconds, session.runtimeId, session.driver, by: memory) }
        }
    }

    /// Ends what an earlier run left open: the gateway stopped without ending those sessions (killed, crashed), and
    /// their sandboxes are about to be removed as leftovers. Their usage stands as of their last checkpoint.
    func closeLeftovers() async {
        do {
            let closed = try await store.closeOpenSessions(reason: "gatewayStopped")
            if closed > 0 {
                logger.notice("sessions of an earlier run ended as of their last checkpoint", metadata: ["count": "\(closed)"])
                audit.record(
                    AuditEvent(time: Date(), kind: .sessionEnded, outcome: "success", details: ["reason": .string("gatewayStopped"), "sessions": .number(Double(closed))])
                )
            }
        } catch {
            logger.error("could not end the sessions an earlier run left open", metadata: ["error": "\(error)"])
        }
    }
}
