import CSandboxSupport
import Glibc

/// Anonymous memory files (`memfd_create`) for what a VM is given or leaves behind — its memory, its devices' state,
/// its initramfs with the session's settings: nothing of it is on a disk, it goes when the last descriptor and
/// mapping go, and once sealed nobody can change it, while a VM may still map it privately.
enum MemoryFile {
    /// An empty file of `bytes` (sparse: pages exist once written).
    static func create(_ name: String, bytes: Int) throws(SandboxError) -> Int32 {
        let descriptor = pcs_memory_file(name, Int64(bytes))
        guard descriptor >= 0 else { throw SandboxError(.startFailed, "cannot create a memory file: \(String(cString: strerror(-descriptor)))") }
        return descriptor
    }

    /// A sealed file holding `contents`.
    static func sealed(_ name: String, contents: [UInt8]) throws(SandboxError) -> Int32 {
        let descriptor = try create(name, bytes: 0)
        var written = 0
        while written < contents.count {
            let count = contents[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else {
                let reason = String(cString: strerror(errno))
                close(descriptor)
                throw SandboxError(.startFailed, "cannot fill the memory file \(name): \(reason)")
            }
            written += count
        }
        do {
            try seal(descriptor, what: name)
        } catch {
            close(descriptor)
            throw error
        }
        return descriptor
    }

    /// Forbids every change to the file from now on (fails while a writable shared mapping of it exists).
    static func seal(_ descriptor: Int32, what: String) throws(SandboxError) {
        let result = pcs_seal_memory_file(descriptor)
        guard result == 0 else { throw SandboxError(.startFailed, "cannot seal the \(what): \(String(cString: strerror(-result)))") }
    }
}
