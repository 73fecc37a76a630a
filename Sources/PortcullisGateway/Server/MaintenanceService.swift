import Foundation
import Logging
import PortcullisIdentity
import PortcullisPolicy
import PortcullisStore
import PortcullisSessions
import ServiceLifecycle

/// Periodic housekeeping: expired sessions, API-key last-use times, stale idempotency records, old decisions,
/// session usage records, expired consent sessions and the refresh journal.
struct MaintenanceService: Service {
    let sessions: SessionDirectory
    let upstream: UpstreamClient
    let apiKeys: APIKeyAuthenticator
    let accessKeys: SigV4Authenticator
    let browserSessions: any BrowserSessionStore
    let decisions: any DecisionLogStore
    let policies: PolicyDirectory
    let decisionRetention: TimeInterval
    let sessionUsage: any SessionUsageStore
    let usageRetention: TimeInterval
    let audit: any AuditStore
    let auditRetention: TimeInterval
    let idempotency: IdempotencyGuard
    let vault: any VaultTokenStore
    let interval: Duration
    let logger: Logger

    func run() async throws {
        var rounds = 0
        while !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                break
            }
            let expired = sessions.sweep()
            if expired > 0 {
                logger.debug("expired runtime sessions", metadata: ["count": "\(expired)"])
            }
            await apiKeys.flushUsage()
            await accessKeys.flushUsage()
            upstream.pool.closeIdle()
            rounds += 1
            if rounds % 120 == 0 {
                await idempotency.purge()
                do {
                    _ = try await browserSessions.purgeBrowserSessions(expiredBefore: Date())
                } catch {
                    logger.warning("could not purge expired browser sessions", metadata: ["error": "\(error)"])
                }
                do {
                    let purged = try await decisions.purgeDecisions(
                        before: Date().addingTimeInterval(-decisionRetention), keeping: policies.status.activeDigest
                    )
                    if purged > 0 { logger.info("purged old authorization decisions", metadata: ["count": "\(purged)"]) }
                } catch {
                    logger.warning("could not purge old authorization decisions", metadata: ["error": "\(error)"])
                }
                do {
                    let purged = try await sessionUsage.purgeSessions(endedBefore: Date().addingTimeInterval(-usageRetention))
                    if purged > 0 { logger.info("purged old session usage records", metadata: ["count": "\(purged)"]) }
                } catch {
                    logger.warning("could not purge old session usage records", metadata: ["error": "\(error)"])
                }
                do {
                    // Expired consents linger an hour, so a late poll still learns what became of its session.
                    let consents = try await vault.deleteExpiredConsentSessions(before: Date().addingTimeInterval(-3600))
                    let journal = try await vault.purgeRefreshJournal(startedBefore: Date().addingTimeInterval(-7 * 86_400))
                    if consents + journal > 0 {
                        logger.info("purged expired consent sessions and old refresh journal entries", metadata: ["consents": "\(consents)", "journal": "\(journal)"])
                    }
                } catch {
                    logger.warning("could not purge the token vault's expired records", metadata: ["error": "\(error)"])
                }
                do {
                    let purged = try await audit.purgeAudit(before: Date().addingTimeInterval(-auditRetention))
                    if purged > 0 { logger.info("purged audit records past their retention", metadata: ["count": "\(purged)"]) }
                } catch {
                    logger.warning("could not purge old audit records", metadata: ["error": "\(error)"])
                }
            }
        }
        await apiKeys.flushUsage()
        await accessKeys.flushUsage()
    }
}

/// Shuts the upstream HTTP client down after the server has stopped.
struct UpstreamClientService: Service {
    let client: UpstreamClient

    func run() async throws {
        try? await gracefulShutdown()
        client.shutdown()
    }
}
