import CSandboxSupport
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
@testable import PortcullisCore
@testable import PortcullisGateway
@testable import PortcullisSessions
import PortcullisStore
import Testing

/// The guest `scripts/install-test-deps.sh` builds (`scripts/build-microvm-guest.sh`).
let microVMGuest = packageRoot.appendingPathComponent(".microvm-guest").path
let canRunMicroVMs = canRunSandboxes && FileManager.default.isExecutableFile(atPath: "/usr/bin/qemu-system-x86_64")
    && FileManager.default.fileExists(atPath: microVMGuest + "/vmlinux")

/// Sessions in virtual machines (`sandbox.driver: microvm`), under software emulation on machines without KVM:
/// few tests, one at a time, each VM held to half a core, since every cold boot costs seconds of CPU and the rest
/// of the suite runs beside them.
@Suite("microVM sandboxes", .serialized, .enabled(if: canRunMicroVMs, "needs root, bubblewrap, QEMU and the guest: run scripts/install-test-deps.sh"))
struct MicroVMTests {
    static func withProbe<T: Sendable>(memoryMiB: Int = 384, egress: [String] = [], _ body: (TestGateway, String) async throws -> T) async throws -> T {
        try await MicroVMExclusion.run { try await Self.gatewayWithProbe(memoryMiB: memoryMiB, egress: egress, body) }
    }

    private static func gatewayWithProbe<T: Sendable>(memoryMiB: Int, egress: [String], _ body: (TestGateway, String) async throws -> T) async throws -> T {
        try await TestGateway.run(configure: { configuration in
            SandboxTests.declareProbe(in: &configuration)
            if !egress.isEmpty {
                configuration.agents[0].configuration.networkConfiguration = .object([
                    "networkMode": .string("PUBLIC"), "egressAllowlist": .array(egress.map { .string($0) }),
                ])
            }
            configuration.sandbox.driver = .microvm
            configuration.sandbox.memoryMiB = memoryMiB
            configuration.sandbox.cpus = 0.5
            configuration.sandbox.startTimeoutSeconds = 90
            configuration.sandbox.microvm = MicroVMConfiguration(guestDirectory: microVMGuest, vcpus: 1)
            configuration.agents[0].configuration.environmentVariables = ["GREETING": "hello from the runtime", "QUOTED": "it's \"quoted\" $HOME `x`"]
        }) { gateway in
            let arn = try #require(try await gateway.gateway.runtimeARN(named: "probe"))
            return try await body(gateway, arn)
        }
    }

    /// The SHA-256 of a memory file's contents, read through its descriptor.
    static func digest(ofDescriptor descriptor: Int32) throws -> String {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/self/fd/\(descriptor)"))
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 8 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return Hex.encode(hasher.finalize())
    }

    /// The QEMU process of a sandbox: the one in its cgroup.
    static func monitorProcesses(of sandboxId: String) -> [Int] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int.init).filter { pid in
            guard let groups = try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8), groups.contains("/\(sandboxId)") else { return false }
            return (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8))?.hasPrefix("/usr/bin/qemu-system-x86_64") == true
        }
    }

    @Test("a session is a VM of its own: the agent runs unprivileged on the guest's kernel with the contract's environment; files, processes and network are the VM's; the vault endpoint and the egress proxy are reachable; metering and teardown as for any sandbox")
    func sessionInAVirtualMachine() async throws {
        let provider = try await EgressTests.EchoServer()
        defer { provider.channel.close(promise: nil) }
        let closedPort = try RefusingPort.free()
        try await Self.withProbe(egress: ["127.0.0.1:\(provider.port)"]) { gateway, arn in
            let a = SandboxTests.session("v")
            let b = SandboxTests.session("w")
            let echo = try await SandboxTests.probe(gateway, arn, session: a, ["action": "echo", "variable": "GREETING"])
            #expect(echo.status == 200, "\(echo.json)")
            #expect(echo.json["session"] as? String == a && echo.json["uid"] as? Int == 1000 && echo.json["cwd"] as? String == "/app")
            #expect(echo.json["home"] as? String == "/home/agent" && echo.json["environment"] as? String == "hello from the runtime")
            #expect(echo.json["docker"] as? String == "1" && (echo.json["hostname"] as? String)?.hasPrefix("agent-") == true)
            // The guest's clock is the host's (tokens it checks depend on it), and its time runs at the host's rate.
            let guestTime = try #require(echo.json["time"] as? Double)
            #expect(abs(guestTime - Date().timeIntervalSince1970) < 5, "guest \(guestTime), host \(Date().timeIntervalSince1970)")
            let quoted = try await SandboxTests.probe(gateway, arn, session: a, ["action": "echo", "variable": "QUOTED"])
            #expect(quoted.json["environment"] as? String == "it's \"quoted\" $HOME `x`", "values reach the guest verbatim")
            // Its own kernel: the Debian cloud kernel of the guest, not the host's.
            let version = try await SandboxTests.probe(gateway, arn, session: a, ["action": "read", "path": "/proc/version"]).json["ok"] as? String
            let hostVersion = try String(contentsOfFile: "/proc/version", encoding: .utf8)
            #expect(version?.contains("cloud-amd64") == true && version != hostVersion, "\(version ?? "")")
            let init1 = try await SandboxTests.probe(gateway, arn, session: a, ["action": "read", "path": "/proc/1/cmdline"]).json["ok"] as? String
            #expect(init1?.hasPrefix("/bin/sh\u{0}/init") == true, "pid 1 is the guest's init: \(init1 ?? "")")

            // Files: the session's writes stay in its VM; code and /usr are deployed read-only underneath.
            #expect(try await SandboxTests.probe(gateway, arn, session: a, ["action": "write", "path": "/tmp/secret.txt", "content": "A's"]).json["ok"] as? Bool == true)
            #expect(try await SandboxTests.probe(gateway, arn, session: a, ["action": "write", "path": "/app/notes.txt", "content": "A's"]).json["ok"] as? Bool == true)
            #expect(try await SandboxTests.probe(gateway, arn, session: a, ["action": "write", "path": "/app/main.py", "content": "changed"]).json["error"] as? String == "EACCES")
            #expect(try await SandboxTests.probe(gateway, arn, session: a, ["action": "write", "path": "/usr/evil"]).json["error"] as? String == "EROFS")
            #expect(try await SandboxTests.probe(gateway, arn, session: b, ["action": "read", "path": "/tmp/secret.txt"]).json["error"] as? String == "ENOENT")
            #expect(try await SandboxTests.probe(gateway, arn, session: b, ["action": "read", "path": "/app/notes.txt"]).json["error"] as? String == "ENOENT")
            let code = try await SandboxTests.probe(gateway, arn, session: b, ["action": "read", "path": "/app/main.py"]).json["ok"] as? String
            #expect(code?.contains("def act(") == true, "the code as deployed")
            #expect(try await SandboxTests.probe(gateway, arn, session: b, ["action": "list", "path": packageRoot.path]).json["error"] as? String == "ENOENT")
            #expect(try await SandboxTests.probe(gateway, arn, session: b, ["action": "read", "path": "/etc/shadow"]).json["error"] as? String == "ENOENT")

            // Both VMs are clones of one snapshot (the agent is the same process in each), yet each got its own
            // randomness (the kernel's, and OpenSSL's and the random module's in the agent process), name and clock
            // before its first call.
            let echoB = try await SandboxTests.probe(gateway, arn, session: b, ["action": "echo"])
            #expect(echoB.json["pid"] as? Int == echo.json["pid"] as? Int, "restored, not booted: \(echo.json) \(echoB.json)")
            #expect(echoB.json["hostname"] as? String != echo.json["hostname"] as? String, "\(echoB.json)")
            let randomA = try await SandboxTests.probe(gateway, arn, session: a, ["action": "random"]).json
            let randomB = try await SandboxTests.probe(gateway, arn, session: b, ["action": "random"]).json
            for source in ["urandom", "getrandom", "openssl", "random"] {
                #expect((randomA[source] as? String)?.count == 32 && randomA[source] as? String != randomB[source] as? String, "\(randomA) \(randomB)")
            }
            let driver = try #require(gateway.gateway.sessions.sandboxes?.drivers.standard as? MicroVMDriver)
            let snapshots = try #require(driver.snapshots?.kept())
            try #require(snapshots.count == 1)
            #expect(pcs_memory_file_is_sealed(snapshots[0].memory) == 1 && pcs_memory_file_is_sealed(snapshots[0].state) == 1)
            let memoryBefore = try Self.digest(ofDescriptor: snapshots[0].memory)
            #expect(try await SandboxTests.probe(gateway, arn, session: a, ["action": "allocate", "megabytes": 32]).status == 200)

            // Network: the guest's interface leads only to QEMU's user-mode stack inside the monitor's sandbox.
            #expect(try await SandboxTests.probe(gateway, arn, session: a, ["action": "interfaces"]).json["ok"] as? [String] == ["eth0", "lo"])
            for host in ["127.0.0.1", "10.0.2.2"] {
                let gatewayPort = try await SandboxTests.probe(gateway, arn, session: a, ["action": "connect", "host": host, "port": gateway.port])
                #expect(gatewayPort.json["ok"] == nil, "the gateway's own port is not reachable at \(host): \(gatewayPort.json)")
            }
            let outside = try await SandboxTests.probe(gateway, arn, session: a, ["action": "connect", "host": "192.0.2.1", "port": 443])
            #expect(outside.json["ok"] == nil, "\(outside.json)")
            #expect(try await SandboxTests.probe(gateway, arn, session: a, ["action": "resolve", "host": "example.com"]).json["error"] as? String == "gaierror")
            // The gateway's endpoint for the session is on the guest's loopback, as in every sandbox.
            let vault = try await SandboxTests.probe(gateway, arn, session: a, ["action": "vault", "provider": "no-such-provider"])
            let vaultStatus = (vault.json["ok"] as? [String: Any])?["status"] as? Int ?? 0
            #expect((400..<500).contains(vaultStatus), "the vault endpoint answers (refusing the unknown provider): \(vault.json)")

            // Egress goes through the same allowlisting proxy as from any sandbox, and only there.
            let tunnel = try await SandboxTests.probe(gateway, arn, session: a, ["action": "tunnel", "target": "127.0.0.1:\(provider.port)"])
            #expect((tunnel.json["ok"] as? [String: Any])?["reply"] as? String == "hello through the tunnel", "\(tunnel.json)")
            let refused = try await SandboxTests.probe(gateway, arn, session: a, ["action": "tunnel", "target": "127.0.0.1:\(closedPort)"])
            #expect((refused.json["ok"] as? [String: Any])?["status"] as? Int == 403, "\(refused.json)")

            // Metering and the record say which driver ran the session.
            let sandboxes = try #require(gateway.gateway.sessions.sandboxes)
            let live = try #require(sandboxes.activeSessions().first { $0.record.sessionId == a })
            #expect(live.record.driver == "microvm-tcg" || live.record.driver == "microvm-kvm", "\(live.record.driver)")
            #expect(live.record.usage.cpuSeconds > 0.1, "the VM's CPU time is metered: \(live.record.usage)")
            #expect(live.record.usage.peakMemoryBytes > 64 << 20, "QEMU's memory is metered: \(live.record.usage)")
            let sandboxId = live.record.sandboxId
            #expect(Self.monitorProcesses(of: sandboxId).count == 1)
            let bootDirectories = { (try? FileManager.default.contentsOfDirectory(atPath: gateway.gateway.configuration.store.dataDirectory + "/microvm/vm"))?.count ?? 0 }
            #expect(bootDirectories() == 1, "both sessions' VMs were restored from the version's snapshot and share its boot files")
            // The kernel and the disks; the settings (the agent's environment) are in a memory file, not on disk.
            let vmDirectory = gateway.gateway.configuration.store.dataDirectory + "/microvm/vm"
            let boot = try #require(try FileManager.default.contentsOfDirectory(atPath: vmDirectory).first)
            #expect(try FileManager.default.contentsOfDirectory(atPath: "\(vmDirectory)/\(boot)").sorted() == ["code.sqfs", "usr.sqfs", "vmlinux"])

            let later = try #require(try await SandboxTests.probe(gateway, arn, session: a, ["action": "echo"]).json["time"] as? Double)
            #expect(abs(later - Date().timeIntervalSince1970) < 5, "still in step after the session's calls: \(later)")

            #expect(try Self.digest(ofDescriptor: snapshots[0].memory) == memoryBefore, "the sessions' writes never reach the snapshot's memory")

            // Stopping ends the VM: no QEMU, cgroup or boot files are left, and the next call boots afresh.
            try await sandboxes.stop(runtimeId: live.record.runtimeId, sessionId: a, principalId: nil)
            #expect(Self.monitorProcesses(of: sandboxId).isEmpty)
            #expect(SandboxTests.cgroupDirectories(named: sandboxId).isEmpty)
            #expect(bootDirectories() == 1, "the snapshot's boot files stay for the version's next sessions")
            let ended = try #require(try await gateway.gateway.store.latestSession(runtimeId: live.record.runtimeId, sessionId: a))
            #expect(ended.endReason == "stopped" && ended.usage.invocations >= 12, "\(ended)")
            #expect(try await SandboxTests.probe(gateway, arn, session: a, ["action": "read", "path": "/tmp/secret.txt"]).json["error"] as? String == "ENOENT")
        }
    }

    @Test("one gateway runs an agent in bubblewrap sandboxes and another in VMs (sandbox.agentDrivers), each driver in its own cgroup tree")
    func driverPerAgent() async throws {
        try await MicroVMExclusion.run { try await Self.bothDrivers() }
    }

    private static func bothDrivers() async throws {
        try await TestGateway.run(configure: { configuration in
            SandboxTests.declareProbe(in: &configuration)
            var inVMs = configuration.agents[0]
            inVMs.name = "probe_vm"
            configuration.agents.append(inVMs)
            configuration.sandbox.agentDrivers = ["probe_vm": .microvm]
            configuration.sandbox.cpus = 0.5
            configuration.sandbox.startTimeoutSeconds = 90
            configuration.sandbox.microvm = MicroVMConfiguration(guestDirectory: microVMGuest, vcpus: 1)
        }) { gateway in
            let sandboxes = try #require(gateway.gateway.sessions.sandboxes)
            #expect(sandboxes.driverName == "bubblewrap")
            var records: [String: SessionRecord] = [:]
            for name in ["probe", "probe_vm"] {
                let arn = try #require(try await gateway.gateway.runtimeARN(named: name))
                let session = SandboxTests.session(name == "probe" ? "b" : "v")
                let echo = try await SandboxTests.probe(gateway, arn, session: session, ["action": "echo"])
                #expect(echo.status == 200 && echo.json["session"] as? String == session, "\(echo.json)")
                records[name] = try #require(sandboxes.activeSessions().first { $0.record.sessionId == session }?.record)
                // Each its own kind of sandbox: a uid of its own, or the guest's unprivileged user.
                let uid = try #require(echo.json["uid"] as? Int)
                #expect(name == "probe" ? (200_000...265_535).contains(uid) : uid == 1000, "\(name): uid \(uid)")
            }
            let bubblewrap = try #require(records["probe"])
            let vm = try #require(records["probe_vm"])
            #expect(bubblewrap.driver == "bubblewrap" && vm.driver.hasPrefix("microvm-"), "\(bubblewrap.driver) \(vm.driver)")
            #expect(Self.monitorProcesses(of: vm.sandboxId).count == 1 && Self.monitorProcesses(of: bubblewrap.sandboxId).isEmpty)
            // The drivers' cgroup trees are apart: ending one driver's sessions can never touch the other's.
            let treeOf = { (id: String) in Set(SandboxTests.cgroupDirectories(named: id).map { ($0 as NSString).deletingLastPathComponent }) }
            let bubblewrapTrees = treeOf(bubblewrap.sandboxId)
            let vmTrees = treeOf(vm.sandboxId)
            #expect(!bubblewrapTrees.isEmpty && !vmTrees.isEmpty && bubblewrapTrees.isDisjoint(with: vmTrees), "\(bubblewrapTrees) \(vmTrees)")
            #expect(vmTrees.allSatisfy { $0.hasSuffix("-vm") }, "\(vmTrees)")
            try await sandboxes.stop(runtimeId: vm.runtimeId, sessionId: vm.sessionId, principalId: nil)
            #expect(Self.monitorProcesses(of: vm.sandboxId).isEmpty && SandboxTests.cgroupDirectories(named: vm.sandboxId).isEmpty)
            let again = try await SandboxTests.probe(gateway, try #require(try await gateway.gateway.runtimeARN(named: "probe")), session: bubblewrap.sessionId, ["action": "echo"])
            #expect(again.status == 200 && again.json["pid"] != nil, "the bubblewrap session is untouched")
        }
    }

    @Test("a VM that dies ends its session cleanly; memory beyond the VM's ends the call with 424")
    func failures() async throws {
        try await Self.withProbe(memoryMiB: 256) { gateway, arn in
            let sandboxes = try #require(gateway.gateway.sessions.sandboxes)
            let crashed = SandboxTests.session("c")
            #expect(try await SandboxTests.probe(gateway, arn, session: crashed, ["action": "echo"]).status == 200)
            let record = try #require(sandboxes.activeSessions().first { $0.record.sessionId == crashed }?.record)
            let monitors = Self.monitorProcesses(of: record.sandboxId)
            try #require(monitors.count == 1)
            kill(pid_t(monitors[0]), SIGKILL)
            // The session service notices within a second: the session ends, and its record says why.
            var ended: SessionRecord?
            for _ in 0..<50 where ended == nil {
                try await Task.sleep(for: .milliseconds(200))
                ended = try await gateway.gateway.store.sessions(SessionQuery(runtimeId: record.runtimeId, state: .ended, limit: 10))
                    .first { $0.sandboxId == record.sandboxId }
            }
            #expect(ended?.endReason == "exited", "\(String(describing: ended))")
            #expect(!sandboxes.activeSessions().contains { $0.record.sandboxId == record.sandboxId })
            #expect(SandboxTests.cgroupDirectories(named: record.sandboxId).isEmpty)
            // The same session id gets a new VM.
            let after = try await SandboxTests.probe(gateway, arn, session: crashed, ["action": "echo"])
            #expect(after.status == 200, "\(after.json)")

            let memory = try await SandboxTests.probe(gateway, arn, session: SandboxTests.session("m"), ["action": "allocate", "megabytes": 400])
            #expect(memory.status == 424 && memory.json["__type"] as? String == "RuntimeClientError", "\(memory.json)")
        }
    }

    @Test(
        "the bedrock-agentcore SDK agent and the FastMCP example run unchanged in VMs, their dependency layers as read-only disks",
        .enabled(if: FileManager.default.fileExists(atPath: exampleWheelhouse) && ExternalProcess.python != nil, "run ./scripts/install-test-deps.sh")
    )
    func exampleAgents() async throws {
        try await ExampleAgentTests.withExample("http_agent", protocol: .http, driver: .microvm) { gateway, arn in
            let session = SandboxTests.session("k")
            let headers = [("Content-Type", "application/json"), ("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id", session)]
            let answer = try await gateway.send(.POST, gateway.invocationURL(arn), headers: headers, body: #"{"prompt": "hello"}"#)
            #expect(answer.status == 200, "\(answer.body)")
            let json = try TestGateway.json(answer.body)
            #expect(json["echo"] as? [String: String] == ["prompt": "hello"] && json["sessionId"] as? String == session, "\(json)")
            let stream = try await gateway.send(.POST, gateway.invocationURL(arn), headers: headers, body: #"{"stream": 3}"#)
            let events = stream.body.split(separator: "\n").filter { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) }
            #expect(try events.map { try TestGateway.json($0)["chunk"] as? Int } == [0, 1, 2], "\(stream.body)")
            #expect(gateway.gateway.sessions.sandboxes?.activeSessions().first?.record.driver.hasPrefix("microvm-") == true)
        }
        let python = try #require(ExternalProcess.python)
        try await ExampleAgentTests.withExample("mcp_server", protocol: .mcp, driver: .microvm) { gateway, arn in
            let script = packageRoot.appendingPathComponent("Tests/interop/mcp_example_client.py").path
            let result = try await ExternalProcess.run(python, [script, gateway.invocationURL(arn), gateway.invokeKey])
            #expect(result.status == 0, "\(result.error)")
            let outcome = try TestGateway.json(result.output)
            #expect(outcome["tools"] as? [String] == ["add", "echo"] && outcome["add"] as? String == "5", "\(outcome)")
            #expect(gateway.gateway.sessions.sandboxes?.count == 0, "the client's DELETE ended the VM")
        }
    }
}
