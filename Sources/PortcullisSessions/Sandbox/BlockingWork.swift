import NIOPosix

/// Runs blocking system calls (spawning, namespace switches, cgroup teardown) off the cooperative thread pool and
/// the event loops, on a pool of their own.
///
/// Most of this work waits (an agent's first `/ping`, a process's exit), so the pool has more threads than the host
/// has cores, and it is not NIO's shared pool: with one thread per core, a few slow-starting agents would hold every
/// thread and a session's teardown would queue behind their readiness checks.
enum BlockingWork {
    private static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 32)
        pool.start()
        return pool
    }()

    static func run<Value: Sendable>(_ work: @escaping @Sendable () throws(SandboxError) -> Value) async throws(SandboxError) -> Value {
        let result: Result<Value, SandboxError>
        do {
            result = try await pool.runIfActive { () -> Result<Value, SandboxError> in
                do throws(SandboxError) {
                    return .success(try work())
                } catch {
                    return .failure(error)
                }
            }
        } catch {
            throw SandboxError(.unavailable, "the gateway is shutting down")
        }
        return try result.get()
    }

    static func run<Value: Sendable>(_ work: @escaping @Sendable () -> Value) async -> Value? {
        try? await pool.runIfActive(work)
    }
}
