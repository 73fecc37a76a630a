/// `sandbox`: how agents deployed as code run — one sandbox per runtime session.
public struct SandboxConfiguration: Sendable, Equatable, Decodable {
    public enum Driver: String, Sendable, Equatable, Decodable {
        /// bubblewrap namespaces, seccomp and cgroups, a uid per session (Linux, run as root).
        case bubblewrap
        /// **No isolation**: each session's agent is a plain process on the host (development on machines without
        /// bubblewrap, such as macOS). Refused unless ``SandboxConfiguration/allowProcessDriver`` is set.
        case process
        /// A virtual machine per session (QEMU `microvm`, KVM or software emulation), itself confined like a
        /// bubblewrap sandbox; needs the guest that `scripts/build-microvm-guest.sh` builds.
        case microvm
        /// No sandboxes: code runtimes are refused; endpoint agents work as before.
        case none
    }

    public var driver: Driver
    /// Agent runtimes (by name) whose sessions another driver runs than ``driver``: `bubblewrap` or `microvm`.
    public var agentDrivers: [String: Driver]
    public var bubblewrapPath: String
    public var setprivPath: String
    /// The uids sessions run as (`FIRST-LAST`); none of them may belong to a real account.
    public var uidRange: ClosedRange<UInt32>
    public var memoryMiB: Int
    /// CPU time per second of wall-clock time, in cores (0.5 = half a core).
    public var cpus: Double
    public var maxProcesses: Int
    /// Size of each writable directory (`/tmp`, the home, the working directory); counted against memory.
    public var writableMiB: Int
    public var maxSessions: Int
    public var maxSessionsPerPrincipal: Int
    /// How long an agent may take from sandbox start to answering on its port.
    public var startTimeoutSeconds: Double
    /// Sandboxes kept started and ready per agent version once it is used, so a new session's first call does not
    /// wait for a cold start (0 = none). Each goes to one session and is never reused.
    public var warmPoolSize: Int
    /// Must be `true` for `driver: process`, which runs agents without any isolation.
    public var allowProcessDriver: Bool
    public var microvm: MicroVMConfiguration

    public init(
        driver: Driver = .bubblewrap,
        agentDrivers: [String: Driver] = [:],
        bubblewrapPath: String = "/usr/bin/bwrap",
        setprivPath: String = "/usr/bin/setpriv",
        uidRange: ClosedRange<UInt32> = 200_000...265_535,
        memoryMiB: Int = 1024,
        cpus: Double = 1,
        maxProcesses: Int = 256,
        writableMiB: Int = 256,
        maxSessions: Int = 200,
        maxSessionsPerPrincipal: Int = 50,
        startTimeoutSeconds: Double = 30,
        warmPoolSize: Int = 0,
        allowProcessDriver: Bool = false,
        microvm: MicroVMConfiguration = MicroVMConfiguration()
    ) {
        self.driver = driver
        self.agentDrivers = agentDrivers
        self.bubblewrapPath = bubblewrapPath
        self.setprivPath = setprivPath
        self.uidRange = uidRange
        self.memoryMiB = memoryMiB
        self.cpus = cpus
        self.maxProcesses = maxProcesses
        self.writableMiB = writableMiB
        self.maxSessions = maxSessions
        self.maxSessionsPerPrincipal = maxSessionsPerPrincipal
        self.startTimeoutSeconds = startTimeoutSeconds
        self.warmPoolSize = warmPoolSize
        self.allowProcessDriver = allowProcessDriver
        self.microvm = microvm
    }

    /// The driver ``agentDrivers`` gives the runtime `name`, if any. Anyone allowed to create runtimes picks their
    /// names, so for those a name can only buy more isolation than ``driver``; less (bubblewrap where the default
    /// is microvm) is for runtimes the configuration file declares.
    public func agentDriver(forRuntimeNamed name: String, declared: Bool) -> Driver? {
        guard let chosen = agentDrivers[name] else { return nil }
        if chosen == .bubblewrap, driver == .microvm, !declared { return nil }
        return chosen
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case driver, agentDrivers, bubblewrapPath, setprivPath, uidRange, memoryMiB, cpus, maxProcesses, writableMiB, maxSessions,
            maxSessionsPerPrincipal, startTimeoutSeconds, warmPoolSize, allowProcessDriver, microvm
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = SandboxConfiguration()
        self.driver = try container.value(.driver, default: defaults.driver)
        self.agentDrivers = try container.value(.agentDrivers, default: [:])
        for (name, chosen) in agentDrivers {
            guard AgentRuntimeIdentifier.isValidName(name[...]) else {
                throw ConfigurationError("sandbox.agentDrivers: '\(name)' is not an agent runtime name ([a-zA-Z][a-zA-Z0-9_]{0,47})")
            }
            guard chosen == .bubblewrap || chosen == .microvm else {
                throw ConfigurationError("sandbox.agentDrivers.\(name) must be bubblewrap or microvm (\(chosen.rawValue) is only for the whole gateway)")
            }
            guard driver == .bubblewrap || driver == .microvm else {
                throw ConfigurationError("sandbox.agentDrivers needs sandbox.driver bubblewrap or microvm, not \(driver.rawValue)")
            }
        }
        self.bubblewrapPath = try container.value(.bubblewrapPath, default: defaults.bubblewrapPath)
        self.setprivPath = try container.value(.setprivPath, default: defaults.setprivPath)
        if let range = try container.decodeIfPresent(String.self, forKey: .uidRange) {
            let bounds = range.split(separator: "-").compactMap { UInt32($0) }
            guard bounds.count == 2, bounds[0] >= 1000, bounds[0] <= bounds[1] else {
                throw ConfigurationError("sandbox.uidRange must be FIRST-LAST with 1000 <= FIRST <= LAST")
            }
            self.uidRange = bounds[0]...bounds[1]
        } else {
            self.uidRange = defaults.uidRange
        }
        self.memoryMiB = try container.value(.memoryMiB, default: defaults.memoryMiB)
        self.cpus = try container.value(.cpus, default: defaults.cpus)
        self.maxProcesses = try container.value(.maxProcesses, default: defaults.maxProcesses)
        self.writableMiB = try container.value(.writableMiB, default: defaults.writableMiB)
        self.maxSessions = try container.value(.maxSessions, default: defaults.maxSessions)
        self.maxSessionsPerPrincipal = try container.value(.maxSessionsPerPrincipal, default: defaults.maxSessionsPerPrincipal)
        self.startTimeoutSeconds = try container.value(.startTimeoutSeconds, default: defaults.startTimeoutSeconds)
        self.warmPoolSize = try container.value(.warmPoolSize, default: defaults.warmPoolSize)
        self.allowProcessDriver = try container.value(.allowProcessDriver, default: false)
        self.microvm = try container.value(.microvm, default: defaults.microvm)
        if driver == .process && !allowProcessDriver {
            throw ConfigurationError(
                "sandbox.driver: process runs agents WITHOUT ANY ISOLATION (for development on machines without bubblewrap); set sandbox.allowProcessDriver: true to accept that"
            )
        }
        guard (32...1_048_576).contains(memoryMiB) else { throw ConfigurationError("sandbox.memoryMiB must be between 32 and 1048576") }
        guard (0.01...256).contains(cpus) else { throw ConfigurationError("sandbox.cpus must be between 0.01 and 256") }
        guard (8...1_000_000).contains(maxProcesses) else { throw ConfigurationError("sandbox.maxProcesses must be between 8 and 1000000") }
        guard (1...memoryMiB).contains(writableMiB) else { throw ConfigurationError("sandbox.writableMiB must be between 1 and memoryMiB") }
        guard maxSessions > 0, (1...maxSessions).contains(maxSessionsPerPrincipal) else {
            throw ConfigurationError("sandbox.maxSessions and maxSessionsPerPrincipal must be positive, the second at most the first")
        }
        guard (1...600).contains(startTimeoutSeconds) else { throw ConfigurationError("sandbox.startTimeoutSeconds must be between 1 and 600") }
        guard (0...32).contains(warmPoolSize) else { throw ConfigurationError("sandbox.warmPoolSize must be between 0 and 32") }
    }
}
