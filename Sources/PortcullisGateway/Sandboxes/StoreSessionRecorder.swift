import Foundation
import Logging
import PortcullisCore
import PortcullisSessions
import PortcullisStore

/// Keeps sandboxed sessions' metering records in the store, and audits their starts and ends.
struct StoreSessionRecorder: SessionRecorder {
    let store: any SessionUsageStore
    let audit: AuditLog
    let logger: Logger

    func started(_ session: SessionRecord) async {
        await record([session])
        audit.record(Self.event(.sessionStarted, session, at: session.startedAt))
    }

    func ended(_ session: SessionRecord) async {
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
        do {
            try await store.saveSessions(sessions)
        } catch {
            logger.error("could not record session usage", metadata: ["sessions": "\(sessions.count)", "error": "\(error)"])
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
