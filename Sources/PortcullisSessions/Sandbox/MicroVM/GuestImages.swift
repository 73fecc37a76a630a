import Crypto
import Foundation
import Logging
import PortcullisCore
import Synchronization

/// Read-only squashfs images of the directories a guest needs (an agent version's code, its dependency layer),
/// built once with `mksquashfs` and shared by every session of that version.
///
/// An image is named after the directory's path and a fingerprint of its tree (every entry's path, type, size,
/// mode and modification time), so a directory changed between runs gets a new image; images no longer asked for are
/// removed by ``removeUnused(keeping:)``. Within a run a version's directories do not change, so each is walked once,
/// not at every session start. Concurrent requests for one image wait for one build.
final class GuestImages: Sendable {
    let directory: String
    let mksquashfs: String
    let logger: Logger
    private let building = Mutex<[String: Task<String, any Error>]>([:])
    /// Images found or built in this run, by source directory.
    private let known = Mutex<[String: String]>([:])

    /// More entries than this in one directory tree is not an agent.
    static let maxEntries = 200_000

    init(directory: String, mksquashfs: String, logger: Logger) {
        self.directory = directory
        self.mksquashfs = mksquashfs
        self.logger = logger
    }

    /// The image of `source`, built when missing.
    func image(of source: String) async throws(SandboxError) -> String {
        if let path = known.withLock({ $0[source] }) { return path }
        let name = try Self.fingerprint(of: source) + ".sqfs"
        let path = "\(directory)/\(name)"
        if FileManager.default.fileExists(atPath: path) {
            known.withLock { $0[source] = path }
            return path
        }
        let task = building.withLock { building -> Task<String, any Error> in
            if let running = building[name] { return running }
            let task = Task { try await self.build(source, into: path) }
            building[name] = task
            return task
        }
        defer { _ = building.withLock { $0.removeValue(forKey: name) } }
        do {
            let built = try await task.value
            known.withLock { $0[source] = built }
            return built
        } catch let error as SandboxError {
            throw error
        } catch {
            throw SandboxError(.startFailed, "cannot build the guest image of \(source): \(error)")
        }
    }

    private func build(_ source: String, into path: String) async throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let staging = path + ".staging-" + SecureRandom.base32(8)
        defer { unlink(staging) }
        let started = ContinuousClock.now
        // Owners become root, times stay (Python's bytecode caches check them), no extended attributes.
        let outcome = try await ToolProcess(
            executable: mksquashfs,
            arguments: [source, staging, "-noappend", "-all-root", "-no-xattrs", "-mkfs-time", "0", "-comp", "lz4", "-quiet", "-no-progress"],
            environment: ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"],
            timeout: .seconds(600),
            tailBytes: 600
        ).run()
        guard outcome.exitStatus == 0 else {
            throw SandboxError(.startFailed, "mksquashfs of \(source) failed\(outcome.timedOut ? " (timed out)" : ""): \(outcome.outputTail)")
        }
        guard rename(staging, path) == 0 else { throw SandboxError(.startFailed, "cannot store the guest image \(path): \(String(cString: strerror(errno)))") }
        logger.info("guest image built", metadata: ["source": "\(source)", "image": "\(path)", "duration": "\(ContinuousClock.now - started)"])
        return path
    }

    /// Removes images other than `inUse` (and staging files an interrupted build left).
    func removeUnused(keeping inUse: Set<String>) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            let path = "\(directory)/\(name)"
            if !inUse.contains(path) { unlink(path) }
        }
    }

    /// The SHA-256 of the directory's path and of every entry's metadata, walked in sorted order.
    static func fingerprint(of source: String) throws(SandboxError) -> String {
        var hasher = SHA256()
        hasher.update(data: Array(source.utf8) + [0])
        guard let walker = FileManager.default.enumerator(atPath: source) else {
            throw SandboxError(.startFailed, "cannot read \(source)")
        }
        var entries: [String] = []
        while let relative = walker.nextObject() as? String {
            entries.append(relative)
            guard entries.count <= maxEntries else { throw SandboxError(.startFailed, "\(source) has more than \(maxEntries) entries") }
        }
        for relative in entries.sorted() {
            var status = stat()
            guard lstat("\(source)/\(relative)", &status) == 0 else { continue }
            hasher.update(data: Array("\(relative)\u{0}\(status.st_mode)\u{0}\(status.st_size)\u{0}\(status.st_mtim.tv_sec).\(status.st_mtim.tv_nsec)\u{0}".utf8))
        }
        return Hex.encode(hasher.finalize())
    }
}
