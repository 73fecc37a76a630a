/// One microVM test at a time across every suite: each VM's first boot is seconds of emulated CPU, and several at
/// once beside the rest of the suite starve the timing-sensitive tests (the vault's races) on a two-core machine.
actor MicroVMExclusion {
    static let shared = MicroVMExclusion()

    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    /// Runs `body` once no other microVM test runs (at once when it runs none: `usesMicroVMs` is false).
    static func run<T: Sendable>(usesMicroVMs: Bool = true, _ body: () async throws -> T) async throws -> T {
        guard usesMicroVMs else { return try await body() }
        await shared.acquire()
        do {
            let result = try await body()
            await shared.release()
            return result
        } catch {
            await shared.release()
            throw error
        }
    }

    private func acquire() async {
        guard busy else {
            busy = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    private func release() {
        if waiting.isEmpty {
            busy = false
        } else {
            waiting.removeFirst().resume()
        }
    }
}
