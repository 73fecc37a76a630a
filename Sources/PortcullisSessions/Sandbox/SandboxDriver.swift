import PortcullisCore

/// Runs agents, one isolated environment per runtime session. The session manager, metering and the gateway see
/// only this interface; bubblewrap is the implementation on Linux, a microVM or Kubernetes driver another.
public protocol SandboxDriver: Sendable {
    /// The driver's name as configured and reported (`bubblewrap`).
    var name: String { get }

    /// Starts a sandbox and returns once its process runs (not yet once the agent answers: see ``AgentReadiness``).
    func start(_ specification: SandboxSpecification) async throws(SandboxError) -> any Sandbox

    /// Removes what an earlier run of this gateway left behind (it crashed or was killed): processes, cgroups,
    /// session directories. Called once before the first start.
    func removeLeftovers() async

    /// Removes the driver's own host state (its cgroup tree) once every sandbox is destroyed.
    func shutdown() async
}

/// One running sandbox.
public protocol Sandbox: AnyObject, Sendable {
    var id: String { get }

    /// A TCP connection to `port` on the sandbox's own loopback, as a connected non-blocking socket descriptor that
    /// the caller owns.
    func connect(port: Int, timeout: Duration) async throws(SandboxError) -> Int32

    /// A TCP socket listening on `127.0.0.1:port` as the sandbox sees it, which only the sandbox can connect to, as
    /// a non-blocking descriptor the caller owns and accepts on: how the gateway offers the sandbox a service (the
    /// egress proxy) without giving it a network.
    func listen(port: Int) throws(SandboxError) -> Int32

    /// Whether the sandbox's processes are gone (the agent exited or was killed).
    var hasExited: Bool { get }

    /// What the sandbox has used so far.
    func usage() -> SandboxUsage

    /// The end of what the agent wrote to its output, for the gateway log when it fails to start.
    func outputTail(bytes: Int) -> String

    /// Kills every process, removes every trace, and returns the final usage. Idempotent.
    func destroy() async -> SandboxUsage
}

/// What to run and within which limits.
public struct SandboxSpecification: Sendable {
    /// Unique among running sandboxes; becomes part of directory and cgroup names (`[a-z0-9-]`).
    public var id: String
    /// The program and its arguments, as seen inside the sandbox.
    public var command: [String]
    /// The agent version's environment, the same for each of its sandboxes.
    public var environment: [String: String]
    /// Variables only this session has (its id). A driver that starts sandboxes from a prepared one (a microVM
    /// snapshot) cannot give them, as a pooled sandbox started before its session cannot.
    public var sessionEnvironment: [String: String]
    public var filesystem: SandboxFilesystem
    public var limits: SandboxLimits
    /// The port the agent listens on (drivers that forward or share ports need it).
    public var agentPort: Int
    /// Host device nodes the sandbox may use, with the device's group (`/dev/kvm` for a VM monitor); none for agents.
    public var devices: [String]
    /// Open descriptors the sandbox's process inherits, by the number it sees (from ``firstPassedDescriptor``, below
    /// ``firstPassedDescriptor`` + ``maxPassedDescriptors``): a VM monitor's memory file and control socket; none for
    /// agents. The caller keeps its own descriptors and closes them once `start` returns.
    public var passedDescriptors: [Int32: Int32]

    public static let firstPassedDescriptor: Int32 = 1000
    public static let maxPassedDescriptors: Int32 = 16

    /// Gives a sandbox the services a session's sandbox gets (the gateway endpoint, the egress proxy), closed with it:
    /// for a driver that starts a sandbox of its own for the agent (the VM a microVM snapshot is taken of), whose
    /// agent may call out while it starts, as any session's may. Set by the session manager.
    public var withServices: (@Sendable (any Sandbox) async throws -> any Sandbox)?

    public init(
        id: String, command: [String], environment: [String: String], sessionEnvironment: [String: String] = [:], filesystem: SandboxFilesystem,
        limits: SandboxLimits, agentPort: Int, devices: [String] = [], passedDescriptors: [Int32: Int32] = [:]
    ) {
        self.id = id
        self.command = command
        self.environment = environment
        self.sessionEnvironment = sessionEnvironment
        self.filesystem = filesystem
        self.limits = limits
        self.agentPort = agentPort
        self.devices = devices
        self.passedDescriptors = passedDescriptors
    }

    /// The version's environment with the session's own variables.
    public var fullEnvironment: [String: String] {
        environment.merging(sessionEnvironment) { _, session in session }
    }
}

/// What a sandbox's file system is made of. Everything the agent is given is read-only; what it writes goes to
/// size-limited tmpfs (`/tmp`, the home, the working directory) and is gone with the sandbox.
public struct SandboxFilesystem: Sendable, Equatable {
    /// Host directory shown read-only as `/` (a container image's root); `nil` shows the host's `/usr` instead.
    public var rootDirectory: String?
    /// The process's working directory inside the sandbox. A writable tmpfs unless it is `/`.
    public var workingDirectory: String
    /// Host directory whose entries appear read-only inside the working directory (the agent's code), if any.
    public var workingContents: String?
    /// Host directory shown read-only at ``SandboxLayout/dependencyDirectory``, if any.
    public var dependencyDirectory: String?

    public init(rootDirectory: String? = nil, workingDirectory: String = SandboxLayout.codeDirectory, workingContents: String?, dependencyDirectory: String? = nil) {
        self.rootDirectory = rootDirectory
        self.workingDirectory = workingDirectory
        self.workingContents = workingContents
        self.dependencyDirectory = dependencyDirectory
    }

    /// Agent code on the host's `/usr`: the code in `/app`, its dependency layer at ``SandboxLayout/dependencyDirectory``.
    public static func code(_ directory: String, dependencies: String?) -> SandboxFilesystem {
        SandboxFilesystem(workingContents: directory, dependencyDirectory: dependencies)
    }
}

/// Where things are inside every sandbox.
public enum SandboxLayout {
    /// The agent's code (read-only files in a writable directory: the working directory).
    public static let codeDirectory = "/app"
    /// The dependency layer installed from `requirements.txt` (read-only, on `PYTHONPATH`).
    public static let dependencyDirectory = "/opt/agent-deps"
    /// The agent user's home (writable).
    public static let homeDirectory = "/home/agent"
}

/// Resource limits of one sandbox.
public struct SandboxLimits: Sendable, Equatable {
    public var memoryBytes: Int
    /// CPU time per wall-clock second, in thousandths of a core (1000 = one core).
    public var cpuMillicores: Int
    public var maxProcesses: Int
    /// Size of each writable tmpfs (`/tmp`, the home and the working directory); it counts against memory too.
    public var writableBytes: Int

    public init(memoryBytes: Int, cpuMillicores: Int, maxProcesses: Int, writableBytes: Int) {
        self.memoryBytes = memoryBytes
        self.cpuMillicores = cpuMillicores
        self.maxProcesses = maxProcesses
        self.writableBytes = writableBytes
    }
}

/// Resource use of a sandbox, from its cgroup.
public struct SandboxUsage: Sendable, Equatable {
    /// CPU time used, by every process of the sandbox (waiting on I/O is not counted).
    public var cpuSeconds: Double
    public var memoryBytes: Int
    public var peakMemoryBytes: Int
    /// How many times the kernel killed a process for exceeding the memory limit.
    public var outOfMemoryKills: Int

    public init(cpuSeconds: Double = 0, memoryBytes: Int = 0, peakMemoryBytes: Int = 0, outOfMemoryKills: Int = 0) {
        self.cpuSeconds = cpuSeconds
        self.memoryBytes = memoryBytes
        self.peakMemoryBytes = peakMemoryBytes
        self.outOfMemoryKills = outOfMemoryKills
    }
}

/// Why a sandbox could not start or be reached. The message is for operators; callers get a generic 424.
public struct SandboxError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        /// The host cannot run sandboxes (missing program, no cgroups, no seccomp table).
        case unavailable
        case startFailed
        case unreachable
        /// The connection did not open within its timeout.
        case timedOut
        case exited
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    /// Runs one step of starting a sandbox's process (a pipe, the spawn), its failure reported as `startFailed`.
    static func starting<Value: ~Copyable>(_ step: () throws(SpawnError) -> Value) throws(SandboxError) -> Value {
        do {
            return try step()
        } catch {
            throw SandboxError(.startFailed, error.description)
        }
    }
}
