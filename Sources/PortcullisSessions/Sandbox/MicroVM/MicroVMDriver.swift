import Foundation
import Glibc
public import Logging
public import PortcullisCore
import Synchronization

/// Sandboxes that are virtual machines: per session a QEMU `microvm` guest booting the Debian cloud kernel, whose
/// `/init` mounts the Python root, the agent's code and its dependency layer (read-only squashfs disks) and starts
/// the agent as an unprivileged user, with its writable space in guest memory.
///
/// QEMU itself runs in a bubblewrap sandbox (``BubblewrapDriver``): its own uid, namespaces, seccomp filter and the
/// session's cgroup, which limits and meters the VM's CPU and memory exactly as for any sandbox. The guest's only
/// network is QEMU's user-mode stack inside that sandbox's network namespace: the agent's port is forwarded to the
/// namespace's loopback, where the gateway connects, and the gateway's services for the session (token vault,
/// egress proxy) listen there too, reached by the guest at 10.0.2.2.
public final class MicroVMDriver: SandboxDriver {
    public struct Configuration: Sendable {
        public var qemu: String
        public var mksquashfs: String
        /// What `scripts/build-microvm-guest.sh` built.
        public var guestDirectory: String
        /// Host directory for the driver's files (guest images, per-session boot files); 0700, root's.
        public var stateDirectory: String
        public var vcpus: Int
        public var acceleration: MicroVMConfiguration.Acceleration
        /// Sessions' VMs are restored from a snapshot of their version's VM (`nil`: every VM boots).
        public var snapshots: Snapshots?

        public struct Snapshots: Sendable {
            /// Versions whose snapshots are kept at once.
            public var capacity: Int
            /// How long the VM a snapshot is taken of has to answer (the gateway's start timeout).
            public var bootTimeout: Duration
            /// A snapshot no VM was restored from for this long is dropped.
            public var idleLimit: Duration

            public init(capacity: Int, bootTimeout: Duration, idleLimit: Duration = .seconds(3600)) {
                self.capacity = capacity
                self.bootTimeout = bootTimeout
                self.idleLimit = idleLimit
            }
        }

        public init(
            qemu: String, mksquashfs: String = "/usr/bin/mksquashfs", guestDirectory: String, stateDirectory: String, vcpus: Int,
            acceleration: MicroVMConfiguration.Acceleration, snapshots: Snapshots?
        ) {
            self.qemu = qemu
            self.mksquashfs = mksquashfs
            self.guestDirectory = guestDirectory
            self.stateDirectory = stateDirectory
            self.vcpus = vcpus
            self.acceleration = acceleration
            self.snapshots = snapshots
        }
    }

    /// What QEMU needs beyond the guest's memory: its own code and the TCG translation cache (bounded to 64 MiB).
    static let monitorOverheadBytes = 256 << 20
    static let translationCacheMiB = 64

    let configuration: Configuration
    let confinement: BubblewrapDriver
    let guest: MicroVMGuest
    let images: GuestImages
    let snapshots: SnapshotLibrary?
    let logger: Logger
    private let accelerationProbe: Task<MicroVMConfiguration.Acceleration, Never>
    private let resolvedAcceleration = Mutex<MicroVMConfiguration.Acceleration?>(nil)

    /// `microvm-kvm` or `microvm-tcg` once known: sessions' records and metrics say which acceleration ran them.
    public var name: String { "microvm-" + (resolvedAcceleration.withLock { $0 } ?? .auto).rawValue }

    /// Checks QEMU, `mksquashfs` and the guest files, and prepares the confinement of the VMs.
    /// - Throws: `SandboxError.unavailable` naming what is missing.
    public init(configuration: Configuration, confinement: BubblewrapDriver, logger: Logger) throws(SandboxError) {
        for program in [configuration.qemu, configuration.mksquashfs] where access(program, X_OK) != 0 {
            throw SandboxError(.unavailable, "\(program) is not installed (scripts/build-microvm-guest.sh installs qemu-system-x86 and squashfs-tools)")
        }
        let guest = try MicroVMGuest(directory: configuration.guestDirectory, copyInto: configuration.stateDirectory + "/guest")
        try MicroVMGuest.prepareBootParent(configuration.stateDirectory + "/vm")
        self.configuration = configuration
        self.confinement = confinement
        self.guest = guest
        self.images = GuestImages(directory: configuration.stateDirectory + "/images", mksquashfs: configuration.mksquashfs, logger: logger)
        self.snapshots = configuration.snapshots.map { SnapshotLibrary(capacity: $0.capacity, idleLimit: $0.idleLimit) }
        self.logger = logger
        let requested = configuration.acceleration
        let qemu = configuration.qemu
        let kernel = guest.kernel
        accelerationProbe = Task {
            switch requested {
            case .tcg: return .tcg
            case .kvm, .auto: return await KVMProbe.works(qemu: qemu, kernel: kernel) ? .kvm : (requested == .kvm ? .kvm : .tcg)
            }
        }
    }

    /// The acceleration guests run with (probed once: KVM only when a guest actually boots with it).
    public func acceleration() async -> MicroVMConfiguration.Acceleration {
        let value = await accelerationProbe.value
        resolvedAcceleration.withLock { $0 = value }
        return value
    }

    public func removeLeftovers() async {
        await confinement.removeLeftovers()
        let sessions = configuration.stateDirectory + "/vm"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: sessions)) ?? [] {
            try? FileManager.default.removeItem(atPath: "\(sessions)/\(name)")
        }
    }

    public func shutdown() async {
        snapshots?.removeAll()
        await confinement.shutdown()
    }

    public func start(_ specification: SandboxSpecification) async throws(SandboxError) -> any Sandbox {
        let acceleration = await acceleration()
        if acceleration == .kvm, configuration.acceleration == .kvm, !(await KVMProbe.works(qemu: configuration.qemu, kernel: guest.kernel)) {
            throw SandboxError(.unavailable, "sandbox.microvm.acceleration is kvm, but no guest boots with KVM on this host")
        }
        let filesystem = specification.filesystem
        guard filesystem.rootDirectory == nil else {
            throw SandboxError(.startFailed, "the microvm driver runs agents deployed as code; run container images with the bubblewrap driver")
        }
        for (key, value) in specification.fullEnvironment where !GuestSession.isVariableName(key) || value.utf8.contains(0) {
            throw SandboxError(.startFailed, "the environment variable \(key) cannot be given to a guest (names are letters, digits and _; no NUL in values)")
        }
        var code: String?
        if let directory = filesystem.workingContents { code = try await images.image(of: directory) }
        var dependencies: String?
        if let directory = filesystem.dependencyDirectory { dependencies = try await images.image(of: directory) }
        let disks = GuestDisks(code: code, dependencies: dependencies)
        if let snapshots, let bootTimeout = configuration.snapshots?.bootTimeout {
            let key = Self.snapshotKey(specification, disks: disks, vcpus: configuration.vcpus, acceleration: acceleration)
            let golden = try await snapshots.snapshot(for: key) { () async throws(SandboxError) in
                try await self.makeSnapshot(of: specification, key: key, disks: disks, acceleration: acceleration, bootTimeout: bootTimeout)
            }
            return try await restore(golden, for: specification, acceleration: acceleration)
        }
        return try await boot(specification, disks: disks, acceleration: acceleration)
    }

    /// A VM booted for this session alone.
    private func boot(_ specification: SandboxSpecification, disks: GuestDisks, acceleration: MicroVMConfiguration.Acceleration) async throws(SandboxError) -> any Sandbox {
        let session = guestSession(specification, environment: specification.fullEnvironment, control: nil)
        let guest = self.guest
        let initramfs = try await BlockingWork.run { () throws(SandboxError) in try guest.initramfs(for: session) }
        defer { close(initramfs) }
        let boot = try guest.bootDirectory(in: configuration.stateDirectory + "/vm", disks: disks)
        let arguments = qemuArguments(specification, acceleration: acceleration, disks: disks, memory: .private)
        let monitor = monitorSpecification(
            specification, bootDirectory: boot, acceleration: acceleration, arguments: arguments, passing: [MonitorDescriptor.initramfs: initramfs]
        )
        do {
            // The VM is QEMU's sandbox: its loopback holds the agent's forwarded port and the gateway's services,
            // its cgroup meters QEMU, its output is the guest's console. The boot files go with it.
            return ServedSandbox(try await confinement.start(monitor), services: [BootFiles(directory: boot)])
        } catch {
            try? FileManager.default.removeItem(atPath: boot)
            throw error
        }
    }

    /// What the guest's `/init` is told: the gateway's services to forward, the agent's environment and command.
    func guestSession(_ specification: SandboxSpecification, environment: [String: String], control: (port: Int, token: String)?) -> GuestSession {
        GuestSession(
            hostname: Self.hostname(of: specification),
            writableBytes: specification.limits.writableBytes,
            forwardedPorts: [SandboxEndpointAddress.port, EgressProxyAddress.port],
            control: control,
            environment: environment,
            workingDirectory: specification.filesystem.workingDirectory,
            command: specification.command,
            maxProcesses: specification.limits.maxProcesses
        )
    }

    /// QEMU's sandbox: the boot directory as its code, the session's limits plus what QEMU itself needs.
    func monitorSpecification(
        _ specification: SandboxSpecification, bootDirectory: String, acceleration: MicroVMConfiguration.Acceleration, arguments: [String],
        passing descriptors: [Int32: Int32] = [:]
    ) -> SandboxSpecification {
        SandboxSpecification(
            id: specification.id,
            command: [configuration.qemu] + arguments,
            environment: ["PATH": "/usr/bin:/bin", "HOME": SandboxLayout.homeDirectory],
            filesystem: .code(bootDirectory, dependencies: nil),
            limits: SandboxLimits(
                memoryBytes: specification.limits.memoryBytes + Self.monitorOverheadBytes,
                cpuMillicores: specification.limits.cpuMillicores,
                maxProcesses: max(specification.limits.maxProcesses, 128),
                writableBytes: 16 << 20
            ),
            agentPort: specification.agentPort,
            devices: acceleration == .kvm ? ["/dev/kvm"] : [],
            passedDescriptors: descriptors
        )
    }

    /// How a VM's memory is set up: anonymous and its own, or a memory file shared with the snapshot taken of it,
    /// or a snapshot's memory file mapped copy-on-write while its device state is loaded.
    enum GuestMemory {
        case `private`
        case snapshotSource
        case restored
    }

    /// Descriptor numbers in QEMU's sandbox, fixed so the command line can name them.
    enum MonitorDescriptor {
        static let initramfs = SandboxSpecification.firstPassedDescriptor
        static let memory = SandboxSpecification.firstPassedDescriptor + 1
        static let control = SandboxSpecification.firstPassedDescriptor + 2
        static let state = SandboxSpecification.firstPassedDescriptor + 3
    }

    /// A VM's host name, as a bubblewrap sandbox's (`agent-` and the start of its id).
    static func hostname(of specification: SandboxSpecification) -> String {
        "agent-" + specification.id.prefix(20)
    }

    static func guestMemoryMiB(_ specification: SandboxSpecification) -> Int {
        max(64, specification.limits.memoryBytes >> 20)
    }

    /// QEMU's command line; paths are as QEMU sees them in its sandbox (the boot directory's files in `/app`, the
    /// passed descriptors in `/proc/self/fd`). A
    /// snapshot's VM and the VMs restored from it differ only in how they map the memory and whether they boot.
    func qemuArguments(_ specification: SandboxSpecification, acceleration: MicroVMConfiguration.Acceleration, disks: GuestDisks, memory: GuestMemory) -> [String] {
        let files = SandboxLayout.codeDirectory
        let port = specification.agentPort
        let memoryMiB = Self.guestMemoryMiB(specification)
        var forwards = "hostfwd=tcp:127.0.0.1:\(port)-:\(port)"
        if memory != .private { forwards += ",hostfwd=tcp:127.0.0.1:\(Self.forwardedControlPort)-:\(Self.controlPort)" }
        var arguments = [
            "-M", memory == .private ? "microvm" : "microvm,memory-backend=memory",
            "-accel", acceleration == .kvm ? "kvm" : "tcg,tb-size=\(Self.translationCacheMiB)",
            // RDRAND seeds the guest's random numbers at once (without it Python's first getrandom waits ~1 s).
            "-cpu", acceleration == .kvm ? "host" : "qemu64,+rdrand",
            "-m", "\(memoryMiB)M",
            "-smp", String(configuration.vcpus),
            "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-serial", "stdio",
            "-kernel", "\(files)/\(MicroVMGuest.kernelFile)",
            "-initrd", "/proc/self/fd/\(MonitorDescriptor.initramfs)",
            "-append", "console=ttyS0 quiet panic=-1 cryptomgr.notests=1 pci=off" + (Self.hostTSCKilohertz.map { " tsc_early_khz=\($0) tsc=reliable" } ?? ""),
            // The agent's port (and a snapshotted VM's control port) on the sandbox's loopback; nothing else of
            // the guest is reachable.
            "-netdev", "user,id=net,\(forwards)",
            "-device", "virtio-net-device,netdev=net",
            "-device", "virtio-rng-device",
        ]
        if memory != .private {
            let share = memory == .snapshotSource ? "on" : "off"
            arguments += [
                "-object", "memory-backend-file,id=memory,size=\(memoryMiB)M,mem-path=/proc/self/fd/\(MonitorDescriptor.memory),share=\(share)",
                "-chardev", "socket,id=control,fd=\(MonitorDescriptor.control),server=off",
                "-mon", "chardev=control,mode=control",
            ]
        }
        if memory == .restored { arguments += ["-incoming", "defer"] }
        var attached = [("usr", MicroVMGuest.usrFile)]
        if disks.code != nil { attached.append(("code", MicroVMGuest.codeFile)) }
        if disks.dependencies != nil { attached.append(("deps", MicroVMGuest.dependenciesFile)) }
        for (role, file) in attached {
            arguments += [
                "-drive", "id=\(role),file=\(files)/\(file),format=raw,if=none,readonly=on",
                "-device", "virtio-blk-device,drive=\(role),serial=\(role)",
            ]
        }
        return arguments
    }
}

/// The images of a version's code and dependency layer, when it has them.
struct GuestDisks: Sendable, Hashable {
    var code: String?
    var dependencies: String?
}

extension MicroVMDriver {
    /// The host's TSC frequency. A microvm guest has no timer to calibrate its TSC against (no HPET, no PM timer):
    /// told nothing, its kernel falls back to jiffies and can stall for seconds at boot; under TCG and KVM alike the
    /// guest's TSC runs at the host's rate. It is also declared reliable: otherwise the kernel's watchdog may drop it
    /// for jiffies, whose ticks a CPU-limited VM loses, and the guest's clock falls seconds behind within a minute.
    static let hostTSCKilohertz: Int? = {
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("cpu MHz") }),
            let value = line.split(separator: ":").last.flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) }), value > 0
        else { return nil }
        return Int((value * 1000).rounded())
    }()
}

/// A session's boot directory, removed when its VM is destroyed (QEMU keeps what it opened until it is killed).
struct BootFiles: SandboxService {
    let directory: String

    func close() async {
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Whether KVM really runs guests here: a guest kernel with no root to mount panics and, told to reboot at once
/// with QEMU told not to, makes QEMU exit within moments. Where `/dev/kvm` exists but does not work (a nested guest
/// without virtualization), QEMU starts and the guest never runs; the probe gives up after a few seconds.
enum KVMProbe {
    static let timeout: Duration = .seconds(4)
    private static let results = Mutex<[String: Bool]>([:])

    static func works(qemu: String, kernel: String) async -> Bool {
        if let known = results.withLock({ $0[qemu] }) { return known }
        guard access("/dev/kvm", R_OK | W_OK) == 0 else { return remember(qemu, false) }
        let outcome = try? await ToolProcess(
            executable: qemu,
            arguments: [
                "-M", "microvm", "-accel", "kvm", "-cpu", "host", "-m", "64M", "-nodefaults", "-no-user-config", "-display", "none",
                "-no-reboot", "-serial", "none", "-kernel", kernel, "-append", "panic=-1",
            ],
            environment: ["PATH": "/usr/bin:/bin"],
            timeout: timeout,
            tailBytes: 300
        ).run()
        return remember(qemu, outcome.map { $0.exitStatus == 0 && !$0.timedOut } ?? false)
    }

    private static func remember(_ qemu: String, _ works: Bool) -> Bool {
        results.withLock { $0[qemu] = works }
        return works
    }
}
