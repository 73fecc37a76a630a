import Foundation
import Glibc
import Synchronization

/// The claim of one gateway on a driver's state (its cgroup tree, session directories, leftovers): an exclusive
/// `flock` on `<state directory>.lock`, held until ``release()`` (the driver's shutdown) or the end of the process.
/// A second gateway on the same data directory (sharing the store, say) must not run sandboxes there — its
/// start-up would remove the first one's sessions as leftovers — so it runs without them and says why.
final class SandboxStateLock: Sendable {
    private let descriptor: Mutex<Int32>

    init(stateDirectory: String) throws(SandboxError) {
        let path = stateDirectory + ".lock"
        try? FileManager.default.createDirectory(
            atPath: (stateDirectory as NSString).deletingLastPathComponent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]
        )
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SandboxError(.unavailable, "cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw SandboxError(
                .unavailable,
                "another gateway process runs the sandboxes of this data directory (it holds \(path)); give each gateway its own store.dataDirectory to run sandboxes in both"
            )
        }
        descriptor = Mutex(fd)
    }

    func release() {
        descriptor.withLock { fd in
            if fd >= 0 { close(fd) }
            fd = -1
        }
    }

    deinit {
        release()
    }
}
