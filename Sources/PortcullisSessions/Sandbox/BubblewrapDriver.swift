import CSandboxSupport
import Foundation
import Glibc
public import Logging
import PortcullisCore

/// Sandboxes made with bubblewrap: per session an unprivileged uid of its own, a fresh tmpfs root with `/usr` and
/// the agent read-only, private pid, network (loopback only), ipc, uts, mount and user namespaces, the
/// ``SeccompFilter``, and cgroup limits on memory, CPU and processes. The gateway reaches the agent by opening its
/// socket inside the sandbox's network namespace, so the sandbox has no network at all.
public final class BubblewrapDriver: SandboxDriver {
    public struct Configuration: Sendable {
        public var bubblewrap: String
        public var setpriv: String
        public var uids: ClosedRange<UInt32>
        /// Host directory for the gateway's per-session files (agent output); 0700, root's.
        public var stateDirectory: String
        /// Names this gateway's cgroup tree; gateways on one host need different ones.
        public var instance: String

        public init(bubblewrap: String, setpriv: String, uids: ClosedRange<UInt32>, stateDirectory: String, instance: String) {
            self.bubblewrap = bubblewrap
            self.setpriv = setpriv
            self.uids = uids
            self.stateDirectory = stateDirectory
            self.instance = instance
        }
    }

    public let name = "bubblewrap"
    let configuration: Configuration
    let cgroups: CgroupHierarchy
    let users: SandboxUserPool
    let filter: SeccompFilter
    let logger: Logger
    let stateLock: SandboxStateLock

    /// At most this many entries at the top of an agent's code directory (each is a bind mount).
    public static let maxCodeEntries = 256

    /// Checks that the host can run sandboxes (programs, cgroups, seccomp table, root) and prepares the cgroup tree.
    /// - Throws: `SandboxError.unavailable` naming what is missing.
    public init(configuration: Configuration, logger: Logger) throws(SandboxError) {
        for program in [configuration.bubblewrap, configuration.setpriv] where access(program, X_OK) != 0 {
            throw SandboxError(.unavailable, "\(program) is not installed (Debian: apt-get install bubblewrap util-linux)")
        }
        guard geteuid() == 0 else {
            throw SandboxError(.unavailable, "the bubblewrap driver runs as root (it gives each session a uid of its own)")
        }
        guard let filter = SeccompFilter.forThisMachine else {
            throw SandboxError(.unavailable, "no system-call filter is known for this architecture")
        }
        // A sandbox's init outlives bubblewrap by a moment when both are killed; as the subreaper the gateway
        // inherits and reaps it (the host's init may take its time, leaving a zombie of the session's uid).
        _ = pcs_become_subreaper()
        // Claimed before anything of the state is touched: another gateway's sessions are not leftovers.
        let stateLock = try SandboxStateLock(stateDirectory: configuration.stateDirectory)
        let cgroups = try CgroupHierarchy.detect(instance: configuration.instance)
        // Proves the tree can be made; it is made again (idempotently) by each start and removed at shutdown, so a
        // gateway that never runs a sandbox leaves nothing in the cgroup file systems.
        try cgroups.prepare()
        cgroups.removeTree()
        do {
            try FileManager.default.createDirectory(
                atPath: configuration.stateDirectory,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
        } catch {
            throw SandboxError(.unavailable, "cannot create \(configuration.stateDirectory): \(error.localizedDescription)")
        }
        self.stateLock = stateLock
        self.configuration = configuration
        self.cgroups = cgroups
        self.users = try SandboxUserPool(range: configuration.uids)
        self.filter = filter
        self.logger = logger
    }

    public func removeLeftovers() async {
        for id in cgroups.existingSessions() {
            let cgroup = cgroups.session(id)
            if !cgroup.killAll() {
                logger.error("processes of an earlier sandbox would not die", metadata: ["sandbox": "\(id)"])
            }
            cgroup.remove()
            logger.notice("removed a sandbox left by an earlier run", metadata: ["sandbox": "\(id)"])
        }
        let files = (try? FileManager.default.contentsOfDirectory(atPath: configuration.stateDirectory)) ?? []
        for file in files where file.hasSuffix(".log") {
            try? FileManager.default.removeItem(atPath: "\(configuration.stateDirectory)/\(file)")
        }
    }

    public func shutdown() async {
        cgroups.removeTree()
        stateLock.release()
    }

    public func start(_ specification: SandboxSpecification) async throws(SandboxError) -> any Sandbox {
        try cgroups.prepare()
        let user = try users.acquire()
        let cgroup = cgroups.session(specification.id)
        do {
            try cgroup.create(limits: specification.limits)
        } catch {
            users.release(user)
            throw error
        }
        let logPath = "\(configuration.stateDirectory)/\(specification.id).log"
        do {
            let started = try await BlockingWork.run { () throws(SandboxError) in
                try self.spawn(specification, uid: user.uid, cgroup: cgroup, logPath: logPath)
            }
            return BubblewrapSandbox(
                id: specification.id,
                process: started.process,
                sandboxInit: started.sandboxInit,
                networkNamespace: started.networkNamespace,
                cgroup: cgroup,
                user: user,
                users: users,
                logPath: logPath
            )
        } catch {
            cgroup.killAll()
            cgroup.remove()
            users.release(user)
            unlink(logPath)
            throw error
        }
    }

    private struct Started: Sendable {
        var process: ChildProcess
        /// The sandbox's pid 1 (bubblewrap's child), reparented to the gateway when bubblewrap dies.
        var sandboxInit: pid_t
        var networkNamespace: Int32
    }

    /// Descriptor numbers inside the wrapper, fixed so the bwrap arguments can name them.
    private enum ChildDescriptor {
        static let info: Int32 = 3
        static let seccomp: Int32 = 4
        static let root: Int32 = 5
        static let dependencies: Int32 = 6
        static let passwd: Int32 = 7
        static let group: Int32 = 8
        static let hosts: Int32 = 9
        /// The code's top-level entries, one descriptor each from here on.
        static let firstCodeEntry: Int32 = 10
    }

    private func spawn(_ specification: SandboxSpecification, uid: UInt32, cgroup: SessionCgroup, logPath: String) throws(SandboxError) -> Started {
        let filesystem = specification.filesystem
        let entries = try filesystem.workingContents.map { directory throws(SandboxError) in try Self.workingEntries(directory) } ?? []
        var opened: [Int32] = []
        defer { for fd in opened { close(fd) } }
        func openPath(_ path: String) throws(SandboxError) -> Int32 {
            let fd = pcs_open_directory_path(path)
            guard fd >= 0 else { throw SandboxError(.startFailed, "cannot open \(path): \(String(cString: strerror(errno)))") }
            opened.append(fd)
            return fd
        }
        let log = open(logPath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o600)
        guard log >= 0 else { throw SandboxError(.startFailed, "cannot create \(logPath): \(String(cString: strerror(errno)))") }
        opened.append(log)
        let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        guard devNull >= 0 else { throw SandboxError(.startFailed, "cannot open /dev/null") }
        opened.append(devNull)
        var info = try SandboxError.starting { () throws(SpawnError) in try DescriptorPipe() }
        func holding(_ text: String) throws(SandboxError) -> DescriptorPipe {
            try SandboxError.starting { () throws(SpawnError) in try DescriptorPipe.holding(Array(text.utf8)) }
        }
        let seccomp = try SandboxError.starting { () throws(SpawnError) in try DescriptorPipe.holding(filter.program) }
        let passwd = try holding("agent:x:\(uid):\(uid):agent:\(SandboxLayout.homeDirectory):/usr/sbin/nologin\n")
        let group = try holding("agent:x:\(uid):\n")
        let hosts = try holding("127.0.0.1 localhost\n::1 localhost\n")
        var descriptors: [Int32: Int32] = [
            0: devNull, 1: log, 2: log,
            ChildDescriptor.info: info.writeEnd,
            ChildDescriptor.seccomp: seccomp.readEnd,
            ChildDescriptor.passwd: passwd.readEnd,
            ChildDescriptor.group: group.readEnd,
            ChildDescriptor.hosts: hosts.readEnd,
        ]
        let passedRange = SandboxSpecification.firstPassedDescriptor..<(SandboxSpecification.firstPassedDescriptor + SandboxSpecification.maxPassedDescriptors)
        for (number, descriptor) in specification.passedDescriptors {
            guard passedRange.contains(number), descriptor >= 0 else {
                throw SandboxError(.startFailed, "a descriptor passed to a sandbox is numbered \(number), outside \(passedRange)")
            }
            descriptors[number] = descriptor
        }
        if let root = filesystem.rootDirectory {
            descriptors[ChildDescriptor.root] = try openPath(root)
        }
        if let dependencies = filesystem.dependencyDirectory {
            descriptors[ChildDescriptor.dependencies] = try openPath(dependencies)
        }
        // bubblewrap resolves a bind source's path as the sandbox user, who may not pass the directories above the
        // code; a descriptor is bound as it is.
        for (index, entry) in entries.enumerated() where entry.linkTarget == nil {
            let path = "\(filesystem.workingContents!)/\(entry.name)"
            let fd = pcs_open_path(path)
            guard fd >= 0 else { throw SandboxError(.startFailed, "cannot open \(path): \(String(cString: strerror(errno)))") }
            opened.append(fd)
            descriptors[ChildDescriptor.firstCodeEntry + Int32(index)] = fd
        }
        let arguments = bubblewrapArguments(specification, entries: entries)
        // The wrapper joins the session's cgroups before anything of the sandbox runs, then becomes the sandbox.
        let joinScript = #"n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); done; exec "$@""#
        let files = cgroup.membershipFiles
        // A device the sandbox may use is opened through its group; nothing else of the host's groups goes in.
        var deviceGroups: [String] = []
        for device in specification.devices {
            var status = stat()
            guard stat(device, &status) == 0 else { throw SandboxError(.startFailed, "cannot use \(device): \(String(cString: strerror(errno)))") }
            deviceGroups.append(String(status.st_gid))
        }
        let groups = deviceGroups.isEmpty ? "--clear-groups" : "--groups=" + deviceGroups.joined(separator: ",")
        let wrapper =
            ["-c", joinScript, "portcullis-sandbox", String(files.count)] + files
            + [configuration.setpriv, "--reuid=\(uid)", "--regid=\(uid)", groups, "--no-new-privs", "--", configuration.bubblewrap]
            + arguments
        let process = try SandboxError.starting { () throws(SpawnError) in
            try ChildProcess(executable: "/bin/sh", arguments: wrapper, environment: ["PATH": "/usr/bin:/bin"], descriptors: descriptors)
        }
        info.closeWriteEnd()
        do throws(SandboxError) {
            let childPid = try Self.readChildPid(from: info.readEnd, process: process, logPath: logPath)
            let namespace = open("/proc/\(childPid)/ns/net", O_RDONLY | O_CLOEXEC)
            guard namespace >= 0 else {
                throw SandboxError(.startFailed, "cannot open the sandbox's network namespace: \(String(cString: strerror(errno)))")
            }
            return Started(process: process, sandboxInit: childPid, networkNamespace: namespace)
        } catch {
            cgroup.killAll()
            process.waitForExit(timeout: .seconds(1))
            throw error
        }
    }

    func bubblewrapArguments(_ specification: SandboxSpecification, entries: [WorkingEntry]) -> [String] {
        let filesystem = specification.filesystem
        var arguments = [
            "--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session",
            "--hostname", "agent-" + specification.id.prefix(20),
            "--info-fd", String(ChildDescriptor.info),
            "--seccomp", String(ChildDescriptor.seccomp),
        ]
        if filesystem.rootDirectory != nil {
            // A container image is the whole root, read-only; its mount points were made when it was unpacked.
            arguments += ["--ro-bind-fd", String(ChildDescriptor.root), "/", "--proc", "/proc", "--dev", "/dev"]
        } else {
            arguments += [
                "--ro-bind", "/usr", "/usr",
                "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin", "--symlink", "usr/lib", "/lib",
            ]
            if FileManager.default.fileExists(atPath: "/usr/lib64") { arguments += ["--symlink", "usr/lib64", "/lib64"] }
            arguments += ["--proc", "/proc", "--dev", "/dev", "--dir", "/etc"]
        }
        for device in specification.devices {
            arguments += ["--dev-bind", device, device]
        }
        arguments += [
            "--ro-bind-data", String(ChildDescriptor.passwd), "/etc/passwd",
            "--ro-bind-data", String(ChildDescriptor.group), "/etc/group",
            "--ro-bind-data", String(ChildDescriptor.hosts), "/etc/hosts",
        ]
        if filesystem.rootDirectory == nil {
            for shared in ["/etc/ld.so.cache", "/etc/localtime", "/etc/ssl", "/etc/ca-certificates"] {
                arguments += ["--ro-bind-try", shared, shared]
            }
        }
        let size = String(specification.limits.writableBytes)
        arguments += ["--size", size, "--tmpfs", "/tmp"]
        arguments += ["--size", size, "--tmpfs", SandboxLayout.homeDirectory]
        if filesystem.workingDirectory != "/" {
            arguments += ["--size", size, "--tmpfs", filesystem.workingDirectory]
        }
        // The working contents' entries, each read-only, inside the writable working directory.
        for (index, entry) in entries.enumerated() {
            let destination = "\(filesystem.workingDirectory == "/" ? "" : filesystem.workingDirectory)/\(entry.name)"
            if let target = entry.linkTarget {
                arguments += ["--symlink", target, destination]
            } else {
                arguments += ["--ro-bind-fd", String(ChildDescriptor.firstCodeEntry + Int32(index)), destination]
            }
        }
        if filesystem.dependencyDirectory != nil {
            arguments += ["--ro-bind-fd", String(ChildDescriptor.dependencies), SandboxLayout.dependencyDirectory]
        }
        arguments += ["--chdir", filesystem.workingDirectory, "--clearenv"]
        for (key, value) in specification.fullEnvironment.sorted(by: { $0.key < $1.key }) {
            arguments += ["--setenv", key, value]
        }
        arguments.append("--")
        arguments += specification.command
        return arguments
    }

    /// One top-level entry of the working contents: bound read-only, or (a symbolic link) made again as a link.
    struct WorkingEntry: Sendable {
        var name: String
        var linkTarget: String?
    }

    static func workingEntries(_ directory: String) throws(SandboxError) -> [WorkingEntry] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        } catch {
            throw SandboxError(.startFailed, "cannot read the agent's files at \(directory)")
        }
        guard names.count <= maxCodeEntries else {
            throw SandboxError(.startFailed, "the agent's working directory has more than \(maxCodeEntries) top-level entries")
        }
        return names.map { name in
            WorkingEntry(name: name, linkTarget: try? FileManager.default.destinationOfSymbolicLink(atPath: "\(directory)/\(name)"))
        }
    }

    /// The pid of the sandbox's first process, from bwrap's `--info-fd` JSON.
    private static func readChildPid(from fd: Int32, process: ChildProcess, logPath: String) throws(SandboxError) -> pid_t {
        var collected: [UInt8] = []
        let deadline = ContinuousClock.now + .seconds(10)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while collected.count < 65_536 {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { throw SandboxError(.startFailed, "bubblewrap did not report its sandbox within 10 s") }
            var waiting = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = Glibc.poll(&waiting, 1, Int32(remaining.components.seconds * 1000 + 50))
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            if count <= 0 { break }
            collected += buffer[0..<count]
            if let pid = childPid(in: collected) { return pid }
        }
        if let pid = childPid(in: collected) { return pid }
        process.waitForExit(timeout: .seconds(1))
        let output = tail(of: logPath, bytes: 600)
        throw SandboxError(.startFailed, "bubblewrap failed to start the sandbox\(output.isEmpty ? "" : ": \(output)")")
    }

    private static func childPid(in bytes: [UInt8]) -> pid_t? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
            let pid = object["child-pid"] as? Int, pid > 0
        else { return nil }
        return pid_t(pid)
    }

    /// The last `bytes` of a file, as one line of printable text.
    static func tail(of path: String, bytes: Int) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { return "" }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        try? handle.seek(toOffset: size > UInt64(bytes) ? size - UInt64(bytes) : 0)
        let data = (try? handle.readToEnd()) ?? Data()
        let text = String(decoding: data, as: UTF8.self)
        return String(String.UnicodeScalarView(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : $0 }))
            .trimmingCharacters(in: .whitespaces)
    }
}
