import Cedar
import Foundation
import Logging
import PortcullisCore
import PortcullisPolicy
import ServiceLifecycle
import UnixSignals

/// Keeps the policy directory in force: checks it for changes every `interval` (when not zero) and reloads at
/// once on SIGHUP. Each outcome is logged once: a new set with its digest, a refused one with every problem at
/// `file:line:column`.
struct PolicyReloadService: Service {
    let policies: PolicyDirectory
    let log: DecisionLog
    let audit: AuditLog
    let interval: Duration?
    let logger: Logger

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in hangups {
                    logger.info("SIGHUP: reloading policies", metadata: ["directory": "\(policies.path)"])
                    await reload(force: true)
                }
            }
            if let interval {
                group.addTask {
                    while !Task.isCancelled {
                        do {
                            try await Task.sleep(for: interval)
                        } catch {
                            return
                        }
                        await reload(force: false)
                    }
                }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
    }

    func reload(force: Bool) async {
        switch policies.reload(force: force) {
        case .unchanged:
            if force { logger.info("policies unchanged", metadata: ["digest": "\(policies.status.activeDigest)"]) }
        case .activated(let digest):
            await log.save(policies.engine.current, at: Date())
            logger.notice("policies reloaded", metadata: ["digest": "\(digest)", "policies": "\(policies.engine.current.policies.policies.count)"])
            audit.record(AuditEvent(time: Date(), kind: .policyReload, outcome: "success", details: ["digest": .string(digest)]))
        case .refused(let problems):
            for problem in problems {
                logger.error("policy refused; the previous set stays in force", metadata: ["problem": "\(problem)"])
            }
            audit.record(
                AuditEvent(
                    time: Date(), kind: .policyReload, outcome: "failure",
                    details: ["problems": .array(problems.prefix(20).map { .string("\($0)") }), "inForce": .string(policies.status.activeDigest)]
                )
            )
        }
    }
}
