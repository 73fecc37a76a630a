import ServiceLifecycle

/// Runs `tick` every `interval` until graceful shutdown, then `final` once: the decision log's flush (a last flush),
/// the sandboxed sessions' sweep (every sandbox destroyed, so none outlives the gateway).
struct PeriodicService: Service {
    let interval: Duration
    let tick: @Sendable () async -> Void
    let final: @Sendable () async -> Void

    func run() async throws {
        while !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                break
            }
            await tick()
        }
        await final()
    }
}
