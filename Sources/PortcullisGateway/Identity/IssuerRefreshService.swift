import Foundation
import Logging
import PortcullisIdentity
import ServiceLifecycle

/// Keeps every trusted issuer's keys fresh in the background: each refresh honours its key set's
/// `Cache-Control` within the configured bounds; failures back off and keep the known keys in use.
struct IssuerRefreshService: Service {
    let issuers: IssuerRegistry
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully {
            let next = await issuers.refreshDue()
            // Issuers registered for new runtimes appear at any time; look again at least every 30 s.
            let wait = min(max(next.map { $0.timeIntervalSinceNow } ?? 30, 1), 30)
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(wait)) }
            } catch {
                break
            }
        }
    }
}
