import CSandboxSupport
import Glibc
import Synchronization

/// Why a child process could not be started, or a pipe opened for it.
public struct SpawnError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// A child process started with exactly the descriptors it is given, in a session of its own, and reaped by pid
/// (never `waitpid(-1)`, which would take the exit status of children other parts of the program wait for).
///
/// The one way this program starts another. Foundation's `Process` is not used: it finds the descriptors to close
/// by listing `/proc/self/fd` and copies each entry's full 256-byte name buffer, which reads past the end of the
/// directory buffer — a test process with ~1,400 open sockets crashed there (SIGSEGV in `Process.run`). Here the
/// child closes everything else with `closefrom`, at a cost that does not grow with the parent's descriptors.
public final class ChildProcess: Sendable {
    public let pid: Int32
    private let exitStatus = Mutex<Int32?>(nil)

    /// - Parameters:
    ///   - descriptors: child descriptor number → parent descriptor; 0, 1 and 2 should be among them.
    ///   - environment: the child's whole environment (nothing of this process's is inherited).
    ///   - workingDirectory: where the child starts; this process's own when `nil`.
    public init(
        executable: String,
        arguments: [String],
        environment: [String: String],
        descriptors: [Int32: Int32],
        workingDirectory: String? = nil
    ) throws(SpawnError) {
        var argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) }
        argv.append(nil)
        var envp: [UnsafeMutablePointer<CChar>?] = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") }
        envp.append(nil)
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        let mapping = descriptors.sorted { $0.key < $1.key }
        let childDescriptors = mapping.map(\.key)
        let parentDescriptors = mapping.map(\.value)
        var pid: pid_t = 0
        let result: Int32
        if let workingDirectory {
            result = pcs_spawn(executable, argv, envp, parentDescriptors, childDescriptors, Int32(mapping.count), workingDirectory, &pid)
        } else {
            result = pcs_spawn(executable, argv, envp, parentDescriptors, childDescriptors, Int32(mapping.count), nil, &pid)
        }
        guard result == 0 else {
            throw SpawnError("cannot start \(executable): \(String(cString: strerror(result)))")
        }
        self.pid = pid
    }

    /// The exit status if the process has ended (reaping it), else `nil`.
    public func poll() -> Int32? {
        exitStatus.withLock { status in
            if let status { return status }
            var raw: Int32 = 0
            let reaped = waitpid(pid, &raw, WNOHANG)
            if reaped == pid {
                status = raw
            } else if reaped < 0, errno == ECHILD {
                status = -1
            }
            return status
        }
    }

    /// Whether the process is still running (not yet reaped).
    public var isRunning: Bool { poll() == nil }

    /// Waits (polling, blocking this thread) until the process ended, up to `timeout`. Returns whether it did.
    @discardableResult
    public func waitForExit(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while poll() == nil {
            if ContinuousClock.now >= deadline { return false }
            usleep(500)
        }
        return true
    }

    /// Waits without blocking a thread until the process ended; returns its wait status. Polls, starting at 1 ms and
    /// backing off to 50 ms: children here are tools and agents that live milliseconds to minutes.
    public func exited() async -> Int32 {
        var interval = Duration.milliseconds(1)
        while true {
            if let status = poll() { return status }
            try? await Task.sleep(for: interval)
            interval = min(interval * 2, .milliseconds(50))
        }
    }

    /// Sends `signal` to the child's whole process group (it leads a session of its own), so helpers it started go
    /// too. Does nothing once the child has been reaped: its pid may belong to someone else by then.
    public func signalGroup(_ signal: Int32) {
        exitStatus.withLock { status in
            guard status == nil else { return }
            kill(-pid, signal)
        }
    }

    /// SIGTERM to the group, then SIGKILL if the child is still running after `grace`; waits (blocking) for it and
    /// returns its wait status (`nil` only if even SIGKILL did not end it within 5 s).
    @discardableResult
    public func stop(grace: Duration = .seconds(2)) -> Int32? {
        signalGroup(SIGTERM)
        if !waitForExit(timeout: grace) {
            signalGroup(SIGKILL)
            waitForExit(timeout: .seconds(5))
        }
        return poll()
    }

    /// The exit code of a wait status, or `128 + signal` for a process a signal ended (as shells report it).
    public static func exitCode(_ status: Int32) -> Int32 {
        if status < 0 { return -1 }
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }

    /// A short description of how a wait status ended the process.
    public static func describe(_ status: Int32) -> String {
        if status < 0 { return "ended" }
        let signal = status & 0x7F
        if signal == 0 { return "exited with status \((status >> 8) & 0xFF)" }
        return "was killed by signal \(signal)"
    }
}

/// A pipe whose ends are closed when no longer needed.
public struct DescriptorPipe: ~Copyable {
    public private(set) var readEnd: Int32
    public private(set) var writeEnd: Int32

    public init() throws(SpawnError) {
        var fds: [Int32] = [-1, -1]
        guard pcs_pipe_cloexec(&fds) == 0 else {
            throw SpawnError("pipe: \(String(cString: strerror(errno)))")
        }
        readEnd = fds[0]
        writeEnd = fds[1]
    }

    /// A pipe already holding `bytes` (at most the pipe's capacity, 64 KiB), its write end closed.
    public static func holding(_ bytes: [UInt8]) throws(SpawnError) -> DescriptorPipe {
        var pipe = try DescriptorPipe()
        let written = bytes.withUnsafeBytes { write(pipe.writeEnd, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            throw SpawnError("cannot fill a pipe with \(bytes.count) bytes")
        }
        pipe.closeWriteEnd()
        return pipe
    }

    public mutating func closeWriteEnd() {
        if writeEnd >= 0 { close(writeEnd) }
        writeEnd = -1
    }

    public mutating func closeReadEnd() {
        if readEnd >= 0 { close(readEnd) }
        readEnd = -1
    }

    deinit {
        if readEnd >= 0 { close(readEnd) }
        if writeEnd >= 0 { close(writeEnd) }
    }
}
