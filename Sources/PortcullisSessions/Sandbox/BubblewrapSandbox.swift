import CSandboxSupport
import Foundation
import Glibc
import PortcullisCore
import Synchronization

/// A running bubblewrap sandbox: its process, network namespace, cgroups and uid, until ``destroy()``.
final class BubblewrapSandbox: Sandbox {
    let id: String
    let process: ChildProcess
    let sandboxInit: pid_t
    let cgroup: SessionCgroup
    let logPath: String
    private let users: SandboxUserPool
    private let user: SandboxUserPool.Lease

    private struct State {
        var networkNamespace: Int32
        var final: SandboxUsage?
    }

    private let state: Mutex<State>

    init(
        id: String,
        process: ChildProcess,
        sandboxInit: pid_t,
        networkNamespace: Int32,
        cgroup: SessionCgroup,
        user: SandboxUserPool.Lease,
        users: SandboxUserPool,
        logPath: String
    ) {
        self.id = id
        self.process = process
        self.sandboxInit = sandboxInit
        self.cgroup = cgroup
        self.user = user
        self.users = users
        self.logPath = logPath
        self.state = Mutex(State(networkNamespace: networkNamespace, final: nil))
    }

    var uid: UInt32 { user.uid }

    var hasExited: Bool { process.poll() != nil }

    func connect(port: Int, timeout: Duration) async throws(SandboxError) -> Int32 {
        let milliseconds = Int32(max(1, timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000))
        return try await BlockingWork.run { () throws(SandboxError) -> Int32 in
            // The namespace descriptor is used under the lock so teardown cannot close it mid-switch.
            let result = self.state.withLock { state -> Int32 in
                guard state.final == nil else { return -ESHUTDOWN }
                return pcs_connect_loopback(state.networkNamespace, UInt16(port), milliseconds)
            }
            guard result >= 0 else {
                if self.hasExited { throw SandboxError(.exited, "the agent's sandbox has ended") }
                if -result == ETIMEDOUT { throw SandboxError(.timedOut, "port \(port) in the sandbox did not accept within \(milliseconds) ms") }
                throw SandboxError(.unreachable, "port \(port) in the sandbox: \(String(cString: strerror(-result)))")
            }
            return result
        }
    }

    func listen(port: Int) throws(SandboxError) -> Int32 {
        // bubblewrap reports the sandbox before its child has brought the namespace's loopback up: until then
        // 127.0.0.1 does not exist there (EADDRNOTAVAIL), for a few milliseconds at most.
        let deadline = ContinuousClock.now + .seconds(2)
        while true {
            let result = state.withLock { state -> Int32 in
                guard state.final == nil else { return -ESHUTDOWN }
                return pcs_listen_loopback(state.networkNamespace, UInt16(port), 64)
            }
            if result >= 0 { return result }
            guard -result == EADDRNOTAVAIL, ContinuousClock.now < deadline, !hasExited else {
                throw SandboxError(.unreachable, "cannot listen on port \(port) in the sandbox: \(String(cString: strerror(-result)))")
            }
            usleep(2_000)
        }
    }

    func usage() -> SandboxUsage {
        if let final = state.withLock({ $0.final }) { return final }
        return cgroup.usage()
    }

    /// The end of what the agent wrote to stdout and stderr.
    func outputTail(bytes: Int) -> String {
        BubblewrapDriver.tail(of: logPath, bytes: bytes)
    }

    /// Reaps the sandbox's processes that were reparented to the gateway (its subreaper) as they died.
    private static func reap(_ pids: [pid_t], timeout: Duration) {
        var pending = Set(pids)
        let deadline = ContinuousClock.now + timeout
        while !pending.isEmpty, ContinuousClock.now < deadline {
            for pid in pending {
                var status: Int32 = 0
                let result = waitpid(pid, &status, WNOHANG)
                // ECHILD: not (or no longer) the gateway's child — the host's init has it, or it was reaped.
                if result == pid || (result < 0 && errno == ECHILD && kill(pid, 0) != 0) { pending.remove(pid) }
            }
            if !pending.isEmpty { usleep(1000) }
        }
    }

    func destroy() async -> SandboxUsage {
        await BlockingWork.run { () -> SandboxUsage in
            self.tearDown()
        } ?? tearDown()
    }

    private func tearDown() -> SandboxUsage {
        let namespace = state.withLock { state -> Int32? in
            guard state.final == nil else { return nil }
            let namespace = state.networkNamespace
            state.networkNamespace = -1
            state.final = SandboxUsage()
            return namespace
        }
        guard let namespace else { return usage() }
        let members = cgroup.processes()
        let emptied = cgroup.killAll()
        process.waitForExit(timeout: .seconds(2))
        Self.reap(Set(members + [sandboxInit]).subtracting([process.pid]).sorted(), timeout: .milliseconds(200))
        let final = cgroup.usage()
        state.withLock { $0.final = final }
        if emptied { cgroup.remove() }
        close(namespace)
        // The uid goes back only once no process of it is left.
        if emptied { users.release(user) }
        unlink(logPath)
        return final
    }
}
