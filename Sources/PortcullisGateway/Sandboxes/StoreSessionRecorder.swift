import Logging
import PortcullisCore
import PortcullisSessions
import PortcullisStore

/// Keeps sandboxed sessions' metering records in the store.
struct StoreSessionRecorder: SessionRecorder {
    let store: any SessionUsageStore
    let logger: Logger

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
            if closed > 0 { logger.notice("sessions of an earlier run ended as of their last checkpoint", metadata: ["count": "\(closed)"]) }
        } catch {
            logger.error("could not end the sessions an earlier run left open", metadata: ["error": "\(error)"])
        }
    }
}
