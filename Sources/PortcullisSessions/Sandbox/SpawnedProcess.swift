import CSandboxSupport
import Foundation
import Glibc
import Synchronization

/// A child process started with exactly the descriptors it is given, and reaped by pid (never `waitpid(-1)`, which
/// would take the exit status of children other parts of the program wait for).
final class SpawnedProcess: Sendable {
    let pid: pid_t
    private let exitStatus = Mutex<Int32?>(nil)

    /// - Parameter descriptors: child descriptor number → parent descriptor; 0, 1 and 2 should be among them.
    init(executable: String, arguments: [String], environment: [String: String], descriptors: [Int32: Int32]) throws(SandboxError) {
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
        let result = pcs_spawn(executable, argv, envp, parentDescriptors, childDescriptors, Int32(mapping.count), &pid)
        guard result == 0 else {
            throw SandboxError(.startFailed, "cannot start \(executable): \(String(cString: strerror(result)))")
        }
        self.pid = pid
    }

    /// The exit status if the process has ended (reaping it), else `nil`.
    func poll() -> Int32? {
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

    /// Waits (polling) until the process ended, up to `timeout`. Returns whether it did.
    @discardableResult
    func waitForExit(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while poll() == nil {
            if ContinuousClock.now >= deadline { return false }
            usleep(500)
        }
        return true
    }

    /// A short description of how a wait status ended the process.
    static func describe(_ status: Int32) -> String {
        if status < 0 { return "ended" }
        let signal = status & 0x7F
        if signal == 0 { return "exited with status \((status >> 8) & 0xFF)" }
        return "was killed by signal \(signal)"
    }
}

/// A pipe whose ends are closed when no longer needed.
struct DescriptorPipe: ~Copyable {
    private(set) var readEnd: Int32
    private(set) var writeEnd: Int32

    init() throws(SandboxError) {
        var fds: [Int32] = [-1, -1]
        guard pcs_pipe_cloexec(&fds) == 0 else {
            throw SandboxError(.startFailed, "pipe: \(String(cString: strerror(errno)))")
        }
        readEnd = fds[0]
        writeEnd = fds[1]
    }

    /// A pipe already holding `bytes` (at most the pipe's capacity, 64 KiB), its write end closed.
    static func holding(_ bytes: [UInt8]) throws(SandboxError) -> DescriptorPipe {
        var pipe = try DescriptorPipe()
        let written = bytes.withUnsafeBytes { write(pipe.writeEnd, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            throw SandboxError(.startFailed, "cannot fill a pipe with \(bytes.count) bytes")
        }
        pipe.closeWriteEnd()
        return pipe
    }

    mutating func closeWriteEnd() {
        if writeEnd >= 0 { close(writeEnd) }
        writeEnd = -1
    }

    mutating func closeReadEnd() {
        if readEnd >= 0 { close(readEnd) }
        readEnd = -1
    }

    deinit {
        if readEnd >= 0 { close(readEnd) }
        if writeEnd >= 0 { close(writeEnd) }
    }
}
