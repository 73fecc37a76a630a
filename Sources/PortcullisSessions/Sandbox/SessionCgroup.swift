import Foundation
import Glibc

/// The cgroups of one sandbox: made before it starts, its processes placed in them before they run anything,
/// read for metering, killed and removed at teardown.
struct SessionCgroup: Sendable {
    var layout: CgroupHierarchy.Layout
    /// The v2 directory (core files: `cgroup.kill`, `cgroup.procs`, `cpu.stat`; in the unified layout the limits).
    var unified: String
    /// The v1 directories by controller (hybrid layout only).
    var controllers: [String: String]

    /// The v2 directory and the v1 ones.
    var directories: [String] { [unified] + controllers.values.sorted() }

    /// The `cgroup.procs` files a process writes its pid into to join every hierarchy.
    var membershipFiles: [String] { directories.map { "\($0)/cgroup.procs" } }

    func create(limits: SandboxLimits) throws(SandboxError) {
        do {
            for directory in directories {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            }
            let quota = max(1000, limits.cpuMillicores * 100)  // microseconds per 100 ms period
            switch layout {
            case .unified:
                try CgroupFile.write(String(limits.memoryBytes), to: "\(unified)/memory.max")
                try? CgroupFile.write("0", to: "\(unified)/memory.swap.max")
                try CgroupFile.write("\(quota) 100000", to: "\(unified)/cpu.max")
                try CgroupFile.write(String(limits.maxProcesses), to: "\(unified)/pids.max")
            case .hybrid:
                let memory = controllers["memory"]!
                try CgroupFile.write(String(limits.memoryBytes), to: "\(memory)/memory.limit_in_bytes")
                // Without swap accounting the file is absent; the memory limit alone then bounds RAM.
                try? CgroupFile.write(String(limits.memoryBytes), to: "\(memory)/memory.memsw.limit_in_bytes")
                let cpu = controllers["cpu"]!
                try CgroupFile.write("100000", to: "\(cpu)/cpu.cfs_period_us")
                try CgroupFile.write(String(quota), to: "\(cpu)/cpu.cfs_quota_us")
                try CgroupFile.write(String(limits.maxProcesses), to: "\(controllers["pids"]!)/pids.max")
            }
        } catch {
            remove()
            throw SandboxError(.startFailed, "cannot set up the sandbox cgroups: \(error)")
        }
    }

    /// The processes in the cgroup now.
    func processes() -> [pid_t] {
        var pids = Set<pid_t>()
        for file in membershipFiles {
            let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") { if let pid = pid_t(line) { pids.insert(pid) } }
        }
        return pids.sorted()
    }

    /// Kills every process and waits (up to `timeout`) until none is left.
    /// - Returns: whether the cgroup is empty.
    @discardableResult
    func killAll(timeout: Duration = .seconds(2)) -> Bool {
        let deadline = ContinuousClock.now + timeout
        // `cgroup.kill` (kernel 5.14) kills atomically, forks in flight included; SIGKILL to each pid is the fallback.
        let atomic = (try? CgroupFile.write("1", to: "\(unified)/cgroup.kill")) != nil
        while true {
            let remaining = processes()
            if remaining.isEmpty { return true }
            if ContinuousClock.now >= deadline { return false }
            if !atomic { for pid in remaining { kill(pid, SIGKILL) } }
            usleep(1000)
        }
    }

    /// Removes the directories (the cgroup must be empty).
    func remove() {
        for directory in directories { rmdir(directory) }
    }

    /// Whether any directory is left.
    var exists: Bool { directories.contains { FileManager.default.fileExists(atPath: $0) } }

    func usage() -> SandboxUsage {
        var usage = SandboxUsage()
        if let stat = try? String(contentsOfFile: "\(unified)/cpu.stat", encoding: .utf8),
            let line = stat.split(separator: "\n").first(where: { $0.hasPrefix("usage_usec ") }),
            let micros = Double(line.dropFirst("usage_usec ".count))
        {
            usage.cpuSeconds = micros / 1_000_000
        } else if let cpuacct = controllers["cpu"].flatMap({ CgroupFile.integer("\($0)/cpuacct.usage") }) {
            usage.cpuSeconds = Double(cpuacct) / 1_000_000_000
        }
        switch layout {
        case .unified:
            usage.memoryBytes = CgroupFile.integer("\(unified)/memory.current") ?? 0
            usage.peakMemoryBytes = CgroupFile.integer("\(unified)/memory.peak") ?? usage.memoryBytes
            usage.outOfMemoryKills = CgroupFile.field("oom_kill", in: "\(unified)/memory.events") ?? 0
        case .hybrid:
            let memory = controllers["memory"]!
            usage.memoryBytes = CgroupFile.integer("\(memory)/memory.usage_in_bytes") ?? 0
            usage.peakMemoryBytes = CgroupFile.integer("\(memory)/memory.max_usage_in_bytes") ?? usage.memoryBytes
            usage.outOfMemoryKills = CgroupFile.field("oom_kill", in: "\(memory)/memory.oom_control") ?? 0
        }
        return usage
    }
}

/// Reads and writes of cgroup control files, which take one write per value.
enum CgroupFile {
    struct WriteFailed: Error, CustomStringConvertible {
        var path: String
        var errno: Int32
        var description: String { "\(path): \(String(cString: strerror(errno)))" }
    }

    static func write(_ value: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw WriteFailed(path: path, errno: errno) }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw WriteFailed(path: path, errno: errno) }
    }

    static func integer(_ path: String) -> Int? {
        (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// The value of `name` in a flat-keyed file (`name value` lines).
    static func field(_ name: String, in path: String) -> Int? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, parts[0] == name { return Int(parts[1]) }
        }
        return nil
    }
}
