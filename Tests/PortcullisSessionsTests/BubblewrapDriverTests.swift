import Foundation
import Glibc
import Logging
@testable import PortcullisSessions
import Testing

let canRunSandboxes = geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/bwrap")

@Suite("The bubblewrap driver", .enabled(if: canRunSandboxes, "needs root and bubblewrap (apt-get install bubblewrap)"))
struct BubblewrapDriverTests {
    static func driver(instance: String, state: String) throws -> BubblewrapDriver {
        try BubblewrapDriver(
            configuration: BubblewrapDriver.Configuration(
                bubblewrap: "/usr/bin/bwrap", setpriv: "/usr/bin/setpriv", uids: 200_000...265_535, stateDirectory: state, instance: instance
            ),
            logger: Logger(label: "driver-tests")
        )
    }

    static func specification(code: String) -> SandboxSpecification {
        SandboxSpecification(
            id: "t" + String(UInt64.random(in: 0...UInt64.max), radix: 36),
            command: ["/usr/bin/python3", "-c", "import time\nwhile True: time.sleep(1)"],
            environment: ["PATH": "/usr/bin"],
            filesystem: .code(code, dependencies: nil),
            limits: SandboxLimits(memoryBytes: 64 << 20, cpuMillicores: 500, maxProcesses: 16, writableBytes: 4 << 20),
            agentPort: 8080
        )
    }

    static func temporaryCode() throws -> String {
        let path = NSTemporaryDirectory() + "portcullis-driver-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        try "print('hello')\n".write(toFile: path + "/main.py", atomically: true, encoding: .utf8)
        return path
    }

    @Test("a restarted driver removes the sandboxes an earlier run left: processes killed, cgroups gone")
    func leftoversAreRemoved() async throws {
        let code = try Self.temporaryCode()
        defer { try? FileManager.default.removeItem(atPath: code) }
        let instance = "test-" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let first = try Self.driver(instance: instance, state: code + "-state")
        let specification = Self.specification(code: code)
        let sandbox = try await first.start(specification)
        let cgroup = first.cgroups.session(specification.id)
        try await Task.sleep(for: .milliseconds(300))
        let members = cgroup.processes()
        #expect(!members.isEmpty)
        #expect(!sandbox.hasExited)
        // The first gateway "crashed" (and its claim on the state went with its process): a new one with the same
        // instance cleans up before serving.
        first.stateLock.release()
        let second = try Self.driver(instance: instance, state: code + "-state")
        await second.removeLeftovers()
        #expect(!cgroup.exists)
        #expect(members.allSatisfy { kill($0, 0) != 0 || Self.isZombie($0) })
        _ = await sandbox.destroy()
        await second.shutdown()
        #expect(!FileManager.default.fileExists(atPath: second.cgroups.unifiedParent))
    }

    @Test("destroying a sandbox reports its CPU time from the cgroup")
    func destroyReportsUsage() async throws {
        let code = try Self.temporaryCode()
        defer { try? FileManager.default.removeItem(atPath: code) }
        let driver = try Self.driver(instance: "test-" + String(UInt32.random(in: 0...UInt32.max), radix: 36), state: code + "-state")
        var specification = Self.specification(code: code)
        specification.command = ["/usr/bin/python3", "-c", "import time\nend = time.time() + 0.6\nwhile time.time() < end: pass\ntime.sleep(60)"]
        let sandbox = try await driver.start(specification)
        try await Task.sleep(for: .milliseconds(1500))
        let usage = await sandbox.destroy()
        // Half a core for 0.6 s of spinning: about 0.3 s of CPU (the quota), never the 0.6 s wall time.
        #expect(usage.cpuSeconds > 0.15 && usage.cpuSeconds < 0.5, "cpu \(usage.cpuSeconds)")
        #expect(!driver.cgroups.session(specification.id).exists)
        await driver.shutdown()
    }

    static func isZombie(_ pid: pid_t) -> Bool {
        ((try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? "").contains(") Z ")
    }
}
