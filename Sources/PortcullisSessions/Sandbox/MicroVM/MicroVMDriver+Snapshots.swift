import Crypto
import Foundation
import Glibc
import Logging
import PortcullisCore

/// Snapshot cloning: a version's first start boots one VM until its agent answers and saves it (``GoldenSnapshot``);
/// every session's VM then starts from that snapshot — its memory mapped copy-on-write, its devices' state loaded —
/// in a fraction of a boot, and before any call reaches it gets fresh randomness, its own name and the current time
/// over the guest's control port (`scripts/microvm-guest-reseed`).
extension MicroVMDriver {
    /// The guest's control port (below 1024: the unprivileged agent cannot take it).
    static let controlPort = 1022
    /// Where the control port is forwarded to on the monitor's loopback (QEMU, unprivileged there, cannot bind
    /// below 1024); outside the agents' port range (8000–12000), the endpoint's and the egress proxy's ports.
    static let forwardedControlPort = 7022

    /// What a snapshot depends on: everything that shapes the VM and the agent in it, but not the session.
    static func snapshotKey(_ specification: SandboxSpecification, disks: GuestDisks, vcpus: Int, acceleration: MicroVMConfiguration.Acceleration) -> String {
        var hasher = SHA256()
        func add(_ field: String) { hasher.update(data: Array(field.utf8) + [0]) }
        specification.command.forEach(add)
        add("")
        for (key, value) in specification.environment.sorted(by: { $0.key < $1.key }) {
            add(key)
            add(value)
        }
        for field in [
            specification.filesystem.workingDirectory, disks.code ?? "-", disks.dependencies ?? "-", String(guestMemoryMiB(specification)),
            String(specification.limits.writableBytes), String(specification.limits.maxProcesses), String(specification.agentPort), String(vcpus),
            acceleration.rawValue,
        ] {
            add(field)
        }
        return Hex.encode(hasher.finalize())
    }

    /// Boots the version's VM with its memory in a memory file and the services a session's sandbox has, waits for
    /// the agent to answer, saves the devices' state through QEMU's monitor, stops the VM and seals both files.
    func makeSnapshot(
        of specification: SandboxSpecification, key: String, disks: GuestDisks, acceleration: MicroVMConfiguration.Acceleration, bootTimeout: Duration
    ) async throws(SandboxError) -> GoldenSnapshot {
        let started = ContinuousClock.now
        var source = specification
        source.id = "snapshot-" + SecureRandom.base32(16)
        source.sessionEnvironment = [:]
        let controlToken = Hex.encode(SecureRandom.bytes(16))
        let session = guestSession(source, environment: source.environment, control: (Self.controlPort, controlToken))
        let boot = try guest.bootDirectory(in: configuration.stateDirectory + "/vm", disks: disks)
        var files = SnapshotFiles(bootDirectory: boot)
        defer { files.discard() }
        let guest = self.guest
        files.initramfs = try await BlockingWork.run { () throws(SandboxError) in try guest.initramfs(for: session) }
        files.memory = try MemoryFile.create("portcullis-guest-memory", bytes: Self.guestMemoryMiB(source) << 20)
        files.state = try MemoryFile.create("portcullis-guest-state", bytes: 0)
        let (monitor, monitorEnd) = try QMPConnection.pair()
        defer { monitor.close() }
        let arguments = qemuArguments(source, acceleration: acceleration, disks: disks, memory: .snapshotSource)
        var vm: any Sandbox
        do {
            defer { close(monitorEnd) }
            vm = try await confinement.start(
                monitorSpecification(
                    source, bootDirectory: boot, acceleration: acceleration, arguments: arguments,
                    passing: [MonitorDescriptor.initramfs: files.initramfs, MonitorDescriptor.memory: files.memory, MonitorDescriptor.control: monitorEnd]
                )
            )
        }
        do throws(SandboxError) {
            if let withServices = source.withServices {
                do {
                    vm = try await withServices(vm)
                } catch {
                    throw SandboxError(.startFailed, "its services did not start: \(error)")
                }
            }
            try await BlockingWork.run { () throws(SandboxError) in try monitor.negotiate(deadline: .now + .seconds(30)) }
            _ = try await vm.waitUntilReady(port: source.agentPort, timeout: bootTimeout)
            let state = files.state
            try await BlockingWork.run { () throws(SandboxError) in
                let deadline = ContinuousClock.now + .seconds(60)
                try Self.ignoreSharedMemory(monitor, deadline: deadline)
                try monitor.execute("getfd", ["fdname": .string("state")], passing: state, deadline: deadline)
                try monitor.execute("migrate", ["uri": .string("fd:state")], deadline: deadline)
                try Self.waitForMigration(monitor, deadline: deadline)
            }
        } catch {
            let output = vm.outputTail(bytes: 1500)
            _ = await vm.destroy()
            throw SandboxError(error.kind == .exited ? .exited : .startFailed, "the snapshot VM failed: \(error.message); its console: \(output)")
        }
        // The VM must be gone before the memory can be sealed: a writable shared mapping forbids it.
        _ = await vm.destroy()
        try MemoryFile.seal(files.memory, what: "snapshot's memory")
        try MemoryFile.seal(files.state, what: "snapshot's device state")
        let snapshot = GoldenSnapshot(
            key: key, memory: files.memory, state: files.state, initramfs: files.initramfs, controlToken: controlToken, bootDirectory: boot, disks: disks
        )
        files.keep()
        logger.info(
            "microVM snapshot made",
            metadata: [
                "snapshot": "\(key.prefix(16))", "duration": "\(ContinuousClock.now - started)",
                "memory_mib": "\(snapshot.residentBytes >> 20)",
            ]
        )
        return snapshot
    }

    /// A VM for `specification` restored from `snapshot`, running and reseeded.
    func restore(_ snapshot: GoldenSnapshot, for specification: SandboxSpecification, acceleration: MicroVMConfiguration.Acceleration) async throws(SandboxError)
        -> any Sandbox
    {
        let arguments = qemuArguments(specification, acceleration: acceleration, disks: snapshot.disks, memory: .restored)
        let (monitor, monitorEnd) = try QMPConnection.pair()
        // The monitor is needed only until the VM runs: nothing of it stays open beside the VM.
        defer { monitor.close() }
        let vm: any Sandbox
        do {
            defer { close(monitorEnd) }
            let state = try snapshot.stateReader()
            defer { close(state) }
            vm = try await confinement.start(
                monitorSpecification(
                    specification, bootDirectory: snapshot.bootDirectory, acceleration: acceleration, arguments: arguments,
                    passing: [
                        MonitorDescriptor.initramfs: snapshot.initramfs, MonitorDescriptor.memory: snapshot.memory, MonitorDescriptor.control: monitorEnd,
                        MonitorDescriptor.state: state,
                    ]
                )
            )
        }
        do {
            try await BlockingWork.run { () throws(SandboxError) in
                let deadline = ContinuousClock.now + .seconds(30)
                try monitor.negotiate(deadline: deadline)
                try Self.ignoreSharedMemory(monitor, deadline: deadline)
                try monitor.execute("migrate-incoming", ["uri": .string("fd:\(MonitorDescriptor.state)")], deadline: deadline)
                try Self.waitUntilRunning(monitor, deadline: deadline)
            }
            try await reseed(vm, token: snapshot.controlToken, hostname: Self.hostname(of: specification))
        } catch {
            let output = vm.outputTail(bytes: 1500)
            _ = await vm.destroy()
            throw SandboxError(error.kind == .exited ? .exited : .startFailed, "the VM could not be restored: \(error.message); its console: \(output)")
        }
        return vm
    }

    /// Gives the restored guest fresh randomness, its name and the time, and waits for its answer. Until the VM's
    /// network runs, the user-mode stack may take a connection and drop what is sent, and a guest on a small CPU
    /// share may answer late; the guest takes a line again, so the gateway sends again until one is answered.
    func reseed(_ vm: any Sandbox, token: String, hostname: String) async throws(SandboxError) {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if vm.hasExited { throw SandboxError(.exited, "the VM stopped before it was reseeded") }
            if let socket = try? await vm.connect(port: Self.forwardedControlPort, timeout: .milliseconds(200)) {
                var now = timespec()
                clock_gettime(CLOCK_REALTIME, &now)
                let nanoseconds = Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
                let line = Array("\(token) \(Hex.encode(SecureRandom.bytes(32))) \(hostname) \(nanoseconds)\n".utf8)
                let answered = await BlockingWork.run { () -> Bool? in
                    SocketExchange.run(on: socket, sending: line, timeout: .seconds(3), maxBytes: 64) { received, complete in
                        received.starts(with: Array("reseeded\n".utf8)) ? true : (complete ? false : nil)
                    }
                }
                if answered == true { return }
                if answered == nil {
                    // The blocking pool is shutting down and did not take the exchange: the socket is still ours.
                    close(socket)
                    throw SandboxError(.unavailable, "the gateway is shutting down")
                }
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
        throw SandboxError(.startFailed, "the restored VM did not take its randomness within 30 s")
    }

    /// Memory in a shared memory file is the snapshot's own and stays out of the migration stream.
    private static func ignoreSharedMemory(_ monitor: QMPConnection, deadline: ContinuousClock.Instant) throws(SandboxError) {
        let capability: JSONValue = .object(["capability": .string("x-ignore-shared"), "state": .bool(true)])
        try monitor.execute("migrate-set-capabilities", ["capabilities": .array([capability])], deadline: deadline)
    }

    private static func waitForMigration(_ monitor: QMPConnection, deadline: ContinuousClock.Instant) throws(SandboxError) {
        while true {
            let progress = try monitor.execute("query-migrate", deadline: deadline)
            switch progress["status"]?.stringValue ?? "none" {
            case "completed": return
            case "failed", "cancelled":
                throw SandboxError(.startFailed, "saving the VM's state failed: \(progress["error-desc"]?.stringValue ?? "no reason given")")
            default:
                guard ContinuousClock.now < deadline else { throw SandboxError(.timedOut, "saving the VM's state did not finish in time") }
                usleep(2000)
            }
        }
    }

    private static func waitUntilRunning(_ monitor: QMPConnection, deadline: ContinuousClock.Instant) throws(SandboxError) {
        while true {
            let status = try monitor.execute("query-status", deadline: deadline)["status"]?.stringValue ?? "unknown"
            switch status {
            case "running": return
            case "inmigrate", "prelaunch", "restore-vm":
                guard ContinuousClock.now < deadline else { throw SandboxError(.timedOut, "loading the VM's state did not finish in time") }
                usleep(1000)
            default:
                throw SandboxError(.startFailed, "the restored VM is \(status), not running")
            }
        }
    }
}

/// The descriptors a snapshot in the making owns: closed, and its boot directory removed, unless it is kept.
private struct SnapshotFiles {
    let bootDirectory: String
    var initramfs: Int32 = -1
    var memory: Int32 = -1
    var state: Int32 = -1
    private var kept = false

    init(bootDirectory: String) {
        self.bootDirectory = bootDirectory
    }

    mutating func keep() { kept = true }

    func discard() {
        guard !kept else { return }
        for descriptor in [initramfs, memory, state] where descriptor >= 0 { close(descriptor) }
        try? FileManager.default.removeItem(atPath: bootDirectory)
    }
}
