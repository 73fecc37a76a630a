import CSandboxSupport
import Foundation
import Glibc
public import Logging
import PortcullisCore
import Synchronization

/// **No isolation.** Runs each session's agent as a plain process on the host, for development on machines without
/// bubblewrap (macOS): the agent shares the host's network, file system and processes. It is refused by `serve`
/// unless `sandbox.allowProcessDriver` says so, and every start logs that the session is not isolated.
///
/// What it still does: a working directory and home of the session's own (removed at the end), the agent's code and
/// dependency layer at their host paths (the sandbox paths in the command and environment are translated), the
/// process in a session of its own so teardown kills all of it, run as `nobody` when the gateway is root. Agents
/// bind their contract port on the host's loopback, so one session per port runs at a time.
public final class ProcessDriver: SandboxDriver {
    public let name = "process"
    let stateDirectory: String
    let setpriv: String
    let logger: Logger
    private let portsInUse = Mutex<Set<Int>>([])
    private let stateLock: SandboxStateLock

    public init(stateDirectory: String, setpriv: String = "/usr/bin/setpriv", logger: Logger) throws(SandboxError) {
        do {
            try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o711])
        } catch {
            throw SandboxError(.unavailable, "cannot create \(stateDirectory): \(error.localizedDescription)")
        }
        if geteuid() == 0, access(setpriv, X_OK) != 0 {
            throw SandboxError(.unavailable, "the process driver runs agents as nobody when the gateway is root, which needs \(setpriv) (util-linux)")
        }
        self.stateLock = try SandboxStateLock(stateDirectory: stateDirectory)
        self.stateDirectory = stateDirectory
        self.setpriv = setpriv
        self.logger = logger
    }

    public func start(_ specification: SandboxSpecification) async throws(SandboxError) -> any Sandbox {
        let filesystem = specification.filesystem
        guard filesystem.rootDirectory == nil else {
            throw SandboxError(.startFailed, "container images need the bubblewrap driver")
        }
        let port = specification.agentPort
        let claimed = portsInUse.withLock { ports in ports.insert(port).inserted }
        guard claimed else {
            throw SandboxError(.startFailed, "the process driver runs one session per agent port at a time, and port \(port) is taken")
        }
        do {
            let sandbox = try spawn(specification, port: port)
            logger.warning("session runs WITHOUT ISOLATION (sandbox.driver: process)", metadata: ["sandbox": "\(specification.id)", "port": "\(port)"])
            return sandbox
        } catch {
            portsInUse.withLock { _ = $0.remove(port) }
            throw error
        }
    }

    private func spawn(_ specification: SandboxSpecification, port: Int) throws(SandboxError) -> ProcessSandbox {
        let files = FileManager.default
        let directory = "\(stateDirectory)/\(specification.id)"
        let work = directory + "/work"
        let home = directory + "/home"
        let filesystem = specification.filesystem
        let runAsNobody = geteuid() == 0
        do {
            for path in [directory, work, home, directory + "/tmp"] {
                try files.createDirectory(atPath: path, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
                if runAsNobody { _ = chown(path, 65_534, 65_534) }
            }
            if runAsNobody { _ = chown(directory, 0, 0) }
            // The code's entries, linked into the session's own writable working directory.
            if let code = filesystem.workingContents {
                for entry in try files.contentsOfDirectory(atPath: code) {
                    try files.createSymbolicLink(atPath: "\(work)/\(entry)", withDestinationPath: "\(code)/\(entry)")
                }
            }
        } catch {
            try? files.removeItem(atPath: directory)
            throw SandboxError(.startFailed, "cannot prepare \(directory): \(error.localizedDescription)")
        }
        if runAsNobody { _ = chmod(directory, 0o711) }
        let translate = { (value: String) -> String in
            var value = value.replacingOccurrences(of: SandboxLayout.homeDirectory, with: home)
            if let dependencies = filesystem.dependencyDirectory {
                value = value.replacingOccurrences(of: SandboxLayout.dependencyDirectory, with: dependencies)
            }
            return value.replacingOccurrences(of: filesystem.workingDirectory, with: work)
        }
        var environment = specification.fullEnvironment.mapValues(translate)
        environment["TMPDIR"] = directory + "/tmp"
        environment["HOME"] = home
        let command = specification.command.map(translate)
        let logPath = directory + ".log"
        let log = open(logPath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o600)
        guard log >= 0 else { throw SandboxError(.startFailed, "cannot create \(logPath)") }
        defer { close(log) }
        let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        guard devNull >= 0 else { throw SandboxError(.startFailed, "cannot open /dev/null") }
        defer { close(devNull) }
        let privileges = runAsNobody ? [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--no-new-privs", "--"] : []
        // The shell enters the working directory, then becomes the agent (a session leader: see pcs_spawn).
        let wrapper = ["-c", #"cd "$1" && shift && exec "$@""#, "portcullis-process", work] + privileges + command
        let process = try SandboxError.starting { () throws(SpawnError) in
            try ChildProcess(executable: "/bin/sh", arguments: wrapper, environment: environment, descriptors: [0: devNull, 1: log, 2: log])
        }
        return ProcessSandbox(id: specification.id, process: process, directory: directory, logPath: logPath) { [self] in
            portsInUse.withLock { _ = $0.remove(port) }
        }
    }

    public func removeLeftovers() async {
        // Sessions a crashed gateway left: their process groups, then their directories.
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: stateDirectory)) ?? []
        for entry in entries where entry.hasSuffix(".pgid") {
            let path = "\(stateDirectory)/\(entry)"
            if let text = try? String(contentsOfFile: path, encoding: .utf8), let group = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), group > 1 {
                kill(-group, SIGKILL)
            }
            unlink(path)
        }
        for entry in entries where !entry.hasSuffix(".pgid") {
            try? FileManager.default.removeItem(atPath: "\(stateDirectory)/\(entry)")
        }
    }

    public func shutdown() async {
        stateLock.release()
    }
}

/// One agent process of the ``ProcessDriver``.
final class ProcessSandbox: Sandbox {
    let id: String
    let process: ChildProcess
    let directory: String
    let logPath: String
    private let released: @Sendable () -> Void
    private let final = Mutex<SandboxUsage?>(nil)

    init(id: String, process: ChildProcess, directory: String, logPath: String, released: @escaping @Sendable () -> Void) {
        self.id = id
        self.process = process
        self.directory = directory
        self.logPath = logPath
        self.released = released
        // The agent leads its own process group: teardown (or the next start, after a crash) kills the group.
        try? "\(process.pid)\n".write(toFile: directory + ".pgid", atomically: true, encoding: .utf8)
    }

    var hasExited: Bool { process.poll() != nil }

    func connect(port: Int, timeout: Duration) async throws(SandboxError) -> Int32 {
        let milliseconds = Int32(max(1, timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000))
        return try await BlockingWork.run { () throws(SandboxError) -> Int32 in
            let result = pcs_connect_loopback(-1, UInt16(port), milliseconds)
            guard result >= 0 else {
                if self.hasExited { throw SandboxError(.exited, "the agent process has ended") }
                if -result == ETIMEDOUT { throw SandboxError(.timedOut, "port \(port) did not accept within \(milliseconds) ms") }
                throw SandboxError(.unreachable, "port \(port): \(String(cString: strerror(-result)))")
            }
            return result
        }
    }

    func listen(port: Int) throws(SandboxError) -> Int32 {
        throw SandboxError(.unavailable, "the process driver has no network of the session's own, so nothing can be offered only to it (egress rules need the bubblewrap driver)")
    }

    /// CPU time of the agent and its reaped children, and its resident memory, from `/proc`.
    func usage() -> SandboxUsage {
        if let final = final.withLock({ $0 }) { return final }
        var usage = SandboxUsage()
        if let stat = try? String(contentsOfFile: "/proc/\(process.pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") {
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // After the command: state is field 3, utime 14, stime 15, cutime 16, cstime 17 (1-based, man proc).
            let ticks = [11, 12, 13, 14].compactMap { fields.count > $0 ? Double(fields[$0]) : nil }.reduce(0, +)
            usage.cpuSeconds = ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
        }
        if let status = try? String(contentsOfFile: "/proc/\(process.pid)/status", encoding: .utf8) {
            func kibibytes(_ field: String) -> Int {
                status.split(separator: "\n").first { $0.hasPrefix(field) }.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
            }
            usage.memoryBytes = kibibytes("VmRSS:") << 10
            usage.peakMemoryBytes = kibibytes("VmHWM:") << 10
        }
        return usage
    }

    func outputTail(bytes: Int) -> String {
        BubblewrapDriver.tail(of: logPath, bytes: bytes)
    }

    func destroy() async -> SandboxUsage {
        if let final = final.withLock({ $0 }) { return final }
        let usage = self.usage()
        kill(-process.pid, SIGKILL)
        kill(process.pid, SIGKILL)
        _ = await BlockingWork.run { self.process.waitForExit(timeout: .seconds(2)) }
        let recorded = final.withLock { final -> SandboxUsage in
            if let final { return final }
            final = usage
            return usage
        }
        try? FileManager.default.removeItem(atPath: directory)
        unlink(directory + ".pgid")
        unlink(logPath)
        released()
        return recorded
    }
}
