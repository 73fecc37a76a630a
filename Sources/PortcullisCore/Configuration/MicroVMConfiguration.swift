/// `sandbox.microvm`: how the `microvm` driver runs a session's virtual machine (see docs/sandboxes.md#microvm).
public struct MicroVMConfiguration: Sendable, Equatable, Decodable {
    /// How guests run: `kvm` (hardware virtualization), `tcg` (software emulation, slow but available everywhere),
    /// or `auto` — KVM when a virtual machine actually starts with it, else TCG.
    public enum Acceleration: String, Sendable, Equatable, Decodable {
        case auto, kvm, tcg
    }

    public var qemuPath: String
    /// What `scripts/build-microvm-guest.sh` built: `vmlinux`, `initrd.cpio`, `python.sqfs`. `nil`: the
    /// `microvm-guest` directory in the data directory.
    public var guestDirectory: String?
    /// Virtual CPUs per session (their CPU time is limited by `sandbox.cpus` like any sandbox's).
    public var vcpus: Int
    public var acceleration: Acceleration
    /// Whether sessions' VMs are restored from a snapshot of their version's booted VM (copy-on-write memory, fresh
    /// randomness, name and clock each) instead of each booting.
    public var snapshots: Bool
    /// How many versions' snapshots are kept at once (each holds its VM's touched memory); the least recently used
    /// goes first.
    public var maxSnapshots: Int

    public init(
        qemuPath: String = "/usr/bin/qemu-system-x86_64", guestDirectory: String? = nil, vcpus: Int = 2, acceleration: Acceleration = .auto,
        snapshots: Bool = true, maxSnapshots: Int = 8
    ) {
        self.qemuPath = qemuPath
        self.guestDirectory = guestDirectory
        self.vcpus = vcpus
        self.acceleration = acceleration
        self.snapshots = snapshots
        self.maxSnapshots = maxSnapshots
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case qemuPath, guestDirectory, vcpus, acceleration, snapshots, maxSnapshots
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = MicroVMConfiguration()
        self.qemuPath = try container.value(.qemuPath, default: defaults.qemuPath)
        self.guestDirectory = try container.decodeIfPresent(String.self, forKey: .guestDirectory)
        self.vcpus = try container.value(.vcpus, default: defaults.vcpus)
        self.acceleration = try container.value(.acceleration, default: defaults.acceleration)
        self.snapshots = try container.value(.snapshots, default: defaults.snapshots)
        self.maxSnapshots = try container.value(.maxSnapshots, default: defaults.maxSnapshots)
        guard (1...256).contains(maxSnapshots) else { throw ConfigurationError("sandbox.microvm.maxSnapshots must be between 1 and 256") }
        guard (1...64).contains(vcpus) else { throw ConfigurationError("sandbox.microvm.vcpus must be between 1 and 64") }
        guard qemuPath.hasPrefix("/") else { throw ConfigurationError("sandbox.microvm.qemuPath must be an absolute path") }
    }
}
