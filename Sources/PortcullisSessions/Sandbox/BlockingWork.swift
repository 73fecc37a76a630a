import NIOPosix

/// Runs blocking system calls (spawning, namespace switches, cgroup teardown) off the cooperative thread pool and
/// the event loops, on NIO's blocking-I/O pool.
enum BlockingWork {
    static func run<Value: Sendable>(_ work: @escaping @Sendable () throws(SandboxError) -> Value) async throws(SandboxError) -> Value {
        let result: Result<Value, SandboxError>
        do {
            result = try await NIOThreadPool.singleton.runIfActive { () -> Result<Value, SandboxError> in
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
        try? await NIOThreadPool.singleton.runIfActive(work)
    }
}
