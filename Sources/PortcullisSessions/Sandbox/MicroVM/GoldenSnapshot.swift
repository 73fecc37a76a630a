import Foundation
import Glibc

/// One agent version's VM, booted until its agent answered and then saved: the guest's memory and the devices'
/// state, each in a sealed memory file, and the boot directory the VM was started from. Every session of the version
/// starts a VM that maps this memory copy-on-write and loads this state, so no session sees another's changes and
/// none can change what the next one starts from — the seals make the memory file unwritable by anyone, the
/// gateway included, while it still maps privately.
///
/// The files live as long as this object (and any VM that maps them): nothing is left on disk but the boot
/// directory, which goes with the object.
final class GoldenSnapshot: Sendable {
    /// What the snapshot was made from (``MicroVMDriver/snapshotKey(_:disks:vcpus:acceleration:)``).
    let key: String
    /// The guest's memory (`memory-backend-file`), sealed.
    let memory: Int32
    /// The migration stream of the devices (without the memory), sealed.
    let state: Int32
    /// The initramfs the VM booted with, sealed; a restored VM is given the same, as it is given the same kernel
    /// and disks (from the boot directory), though it does not boot.
    let initramfs: Int32
    /// What the gateway's lines to a restored guest's control port start with (the guest has it from the snapshot).
    let controlToken: String
    let bootDirectory: String
    /// The disks it has (a restored VM has the same devices).
    let disks: GuestDisks

    /// Takes ownership of the descriptors, which must be sealed.
    init(key: String, memory: Int32, state: Int32, initramfs: Int32, controlToken: String, bootDirectory: String, disks: GuestDisks) {
        self.key = key
        self.memory = memory
        self.state = state
        self.initramfs = initramfs
        self.controlToken = controlToken
        self.bootDirectory = bootDirectory
        self.disks = disks
    }

    deinit {
        close(memory)
        close(state)
        close(initramfs)
        try? FileManager.default.removeItem(atPath: bootDirectory)
    }

    /// A descriptor of its own (its own file offset) on the state, for one VM to read from the start.
    func stateReader() throws(SandboxError) -> Int32 {
        let reader = open("/proc/self/fd/\(state)", O_RDONLY | O_CLOEXEC)
        guard reader >= 0 else { throw SandboxError(.startFailed, "cannot reopen the snapshot's device state: \(String(cString: strerror(errno)))") }
        return reader
    }

    /// Bytes of guest memory the snapshot holds (touched pages only: the file is sparse).
    var residentBytes: Int {
        var status = stat()
        return fstat(memory, &status) == 0 ? Int(status.st_blocks) * 512 : 0
    }
}
