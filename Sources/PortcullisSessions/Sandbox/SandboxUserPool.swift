import Foundation
import Glibc
import Synchronization

/// Hands out the unprivileged uids that sandboxes run as, one per running sandbox, never two at once — across
/// every gateway on the host.
///
/// A uid is taken by holding an exclusive `flock` on `<lockDirectory>/<uid>.lock`. The kernel drops the lock when
/// its holder dies, so a crashed gateway frees its uids without any cleanup, and two gateways sharing a host (or a
/// test run with many) never hand out the same uid.
final class SandboxUserPool: Sendable {
    struct Lease: Sendable {
        var uid: UInt32
        fileprivate var lockDescriptor: Int32
    }

    let range: ClosedRange<UInt32>
    private let lockDirectory: String
    private let next: Mutex<UInt32>

    init(range: ClosedRange<UInt32>, lockDirectory: String = "/run/portcullis/sandbox-uids") throws(SandboxError) {
        self.range = range
        self.lockDirectory = lockDirectory
        self.next = Mutex(range.lowerBound + UInt32.random(in: 0...(range.upperBound - range.lowerBound)))
        do {
            try FileManager.default.createDirectory(atPath: lockDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw SandboxError(.unavailable, "cannot create \(lockDirectory): \(error.localizedDescription)")
        }
    }

    /// A uid no other sandbox on this host uses now.
    func acquire() throws(SandboxError) -> Lease {
        let size = range.upperBound - range.lowerBound + 1
        let start = next.withLock { value -> UInt32 in
            let current = value
            value = value == range.upperBound ? range.lowerBound : value + 1
            return current
        }
        // Probe from the rotating start: recently freed uids are the last to be reused.
        for offset in 0..<min(size, 65_536) {
            let uid = range.lowerBound + (start - range.lowerBound + offset) % size
            let path = "\(lockDirectory)/\(uid).lock"
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
            guard fd >= 0 else { continue }
            if flock(fd, LOCK_EX | LOCK_NB) == 0 {
                next.withLock { $0 = uid == range.upperBound ? range.lowerBound : uid + 1 }
                return Lease(uid: uid, lockDescriptor: fd)
            }
            close(fd)
        }
        throw SandboxError(.startFailed, "every sandbox uid in \(range.lowerBound)-\(range.upperBound) is in use")
    }

    func release(_ lease: Lease) {
        close(lease.lockDescriptor)
    }
}
