import Foundation
import Glibc
import PortcullisCore

/// The guest every session boots (kernel, initramfs, Python root), as `scripts/build-microvm-guest.sh` built it,
/// the boot directory of a VM made from it (the same files linked) and a VM's initramfs (the guest's with the
/// session's settings appended).
struct MicroVMGuest: Sendable {
    static let kernelFile = "vmlinux"
    static let usrFile = "usr.sqfs"
    static let codeFile = "code.sqfs"
    static let dependenciesFile = "deps.sqfs"
    /// The names `build-microvm-guest.sh` gives its files.
    static let built = (kernel: "vmlinux", initrd: "initrd.cpio", usr: "python.sqfs")

    /// The driver's own copies (or links) of the kernel and the Python root, beside the boot directories.
    let kernel: String
    let usr: String
    /// The guest's initramfs; each session's is this followed by its settings.
    let initrd: [UInt8]

    /// Checks the built guest and links (or, across file systems, copies) its files into `copyInto`.
    init(directory: String, copyInto: String) throws(SandboxError) {
        let files = FileManager.default
        let missing = [Self.built.kernel, Self.built.initrd, Self.built.usr].filter { !files.isReadableFile(atPath: "\(directory)/\($0)") }
        guard missing.isEmpty else {
            throw SandboxError(
                .unavailable, "the microVM guest is not built in \(directory) (missing \(missing.joined(separator: ", "))): run scripts/build-microvm-guest.sh \(directory)"
            )
        }
        guard let initrd = files.contents(atPath: "\(directory)/\(Self.built.initrd)"), initrd.count < 256 << 20 else {
            throw SandboxError(.unavailable, "cannot read \(directory)/\(Self.built.initrd)")
        }
        do {
            try files.createDirectory(atPath: copyInto, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw SandboxError(.unavailable, "cannot create \(copyInto): \(error.localizedDescription)")
        }
        kernel = try Self.place("\(directory)/\(Self.built.kernel)", at: "\(copyInto)/\(Self.kernelFile)")
        usr = try Self.place("\(directory)/\(Self.built.usr)", at: "\(copyInto)/\(Self.usrFile)")
        self.initrd = Array(initrd)
    }

    /// `destination` holding the same bytes as `source`: a hard link when both are on one file system.
    private static func place(_ source: String, at destination: String) throws(SandboxError) -> String {
        var wanted = stat()
        var present = stat()
        guard stat(source, &wanted) == 0 else { throw SandboxError(.unavailable, "cannot read \(source)") }
        if stat(destination, &present) == 0 {
            let same = present.st_dev == wanted.st_dev && present.st_ino == wanted.st_ino
            let copied = present.st_size == wanted.st_size && present.st_mtim.tv_sec == wanted.st_mtim.tv_sec && present.st_mtim.tv_nsec == wanted.st_mtim.tv_nsec
            if same || copied { return destination }
            unlink(destination)
        }
        if link(source, destination) == 0 { return destination }
        let staging = destination + ".staging"
        unlink(staging)
        do {
            try FileManager.default.copyItem(atPath: source, toPath: staging)
            var times = [wanted.st_atim, wanted.st_mtim]
            utimensat(AT_FDCWD, staging, &times, 0)
            chmod(staging, 0o644)
        } catch {
            throw SandboxError(.unavailable, "cannot copy \(source) to \(staging): \(error.localizedDescription)")
        }
        guard rename(staging, destination) == 0 else { throw SandboxError(.unavailable, "cannot place \(destination)") }
        return destination
    }

    /// Makes `parent` (and the directory above it) passable but not listable (0711) for ``bootDirectory(in:disks:)``;
    /// once, when the driver starts.
    static func prepareBootParent(_ parent: String) throws(SandboxError) {
        do {
            let files = FileManager.default
            try files.createDirectory(atPath: parent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o711])
            for passed in [(parent as NSString).deletingLastPathComponent, parent] {
                try files.setAttributes([.posixPermissions: 0o711], ofItemAtPath: passed)
            }
        } catch {
            throw SandboxError(.unavailable, "cannot prepare \(parent): \(error.localizedDescription)")
        }
    }

    /// A directory of the files QEMU boots from (the kernel and the disks), in a parent made by
    /// ``prepareBootParent(_:)``. QEMU's sandbox user must be able to reach them, so the directories on the way can be
    /// passed but not listed and the boot directory has a random name of 130 bits, known only to the gateway. The
    /// session's settings are not here: they are in its initramfs (``initramfs(for:)``), a memory file.
    func bootDirectory(in parent: String, disks: GuestDisks) throws(SandboxError) -> String {
        let directory = "\(parent)/\(SecureRandom.base32(26))"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o711])
        } catch {
            throw SandboxError(.startFailed, "cannot create \(directory): \(error.localizedDescription)")
        }
        var links = [(kernel, Self.kernelFile), (usr, Self.usrFile)]
        if let code = disks.code { links.append((code, Self.codeFile)) }
        if let dependencies = disks.dependencies { links.append((dependencies, Self.dependenciesFile)) }
        for (source, name) in links where link(source, "\(directory)/\(name)") != 0 {
            try? FileManager.default.removeItem(atPath: directory)
            throw SandboxError(.startFailed, "cannot link \(source) into \(directory): \(String(cString: strerror(errno)))")
        }
        return directory
    }

    /// The guest's initramfs followed by the session's settings, as a sealed memory file QEMU is handed as a
    /// descriptor: the agent's environment never touches a disk and no other user can open it.
    func initramfs(for session: GuestSession) throws(SandboxError) -> Int32 {
        try MemoryFile.sealed("portcullis-guest-initramfs", contents: initrd + session.archive())
    }
}
