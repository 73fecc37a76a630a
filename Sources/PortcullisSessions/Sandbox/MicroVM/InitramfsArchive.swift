/// A cpio archive in the `newc` format, which the Linux kernel unpacks as an initramfs. Appended to the guest's own
/// archive, its files join the guest's root: how a session's settings reach the VM without a disk or the kernel
/// command line (which the host shows to anyone in `ps`).
struct InitramfsArchive {
    private var bytes: [UInt8] = []
    private var inode: UInt32 = 1

    mutating func directory(_ path: String, mode: UInt32 = 0o755) {
        entry(path, mode: 0o040000 | mode, contents: [])
    }

    mutating func file(_ path: String, contents: [UInt8], mode: UInt32 = 0o600) {
        entry(path, mode: 0o100000 | mode, contents: contents)
    }

    /// The archive with its trailer.
    consuming func finished() -> [UInt8] {
        entry("TRAILER!!!", mode: 0, contents: [], links: 1)
        return bytes
    }

    private mutating func entry(_ path: String, mode: UInt32, contents: [UInt8], links: UInt32? = nil) {
        let name = Array(path.utf8) + [0]
        // Magic, then inode, mode, uid, gid, links, mtime, size, device major/minor, rdev major/minor, name size,
        // checksum: eight hex digits each. Owner root, time 0.
        let fields: [UInt32] = [
            inode, mode, 0, 0, links ?? (mode & 0o040000 != 0 ? 2 : 1), 0, UInt32(contents.count), 0, 0, 0, 0, UInt32(name.count), 0,
        ]
        inode += 1
        bytes += Array("070701".utf8)
        for field in fields {
            bytes += Array(String(field, radix: 16, uppercase: false).leftPadded(to: 8).utf8)
        }
        bytes += name
        pad()
        bytes += contents
        pad()
    }

    private mutating func pad() {
        while bytes.count % 4 != 0 { bytes.append(0) }
    }
}

private extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
