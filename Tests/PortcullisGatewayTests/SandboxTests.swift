import Foundation
import Logging
import Glibc
import NIOCore
import NIOHTTP1
import NIOWebSocket
import PortcullisCore
import PortcullisIdentity
@testable import PortcullisGateway
import PortcullisSessions
import Testing

/// Whether this host can run the bubblewrap driver (root, bubblewrap installed). CI can; elsewhere these skip.
let canRunSandboxes = geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/bwrap")

@Suite("Sandboxed sessions: one bubblewrap sandbox per runtime session", .enabled(if: canRunSandboxes, "needs root and bubblewrap (apt-get install bubblewrap)"))
struct SandboxTests {
    static let probeAgent = packageRoot.appendingPathComponent("Tests/interop/probe_agent").path

    /// A gateway running the probe agent as a declared code agent.
    static func withProbe<T: Sendable>(
        driver: SandboxConfiguration.Driver = .bubblewrap,
        clock: any WallClock = SystemWallClock(),
        memoryMiB: Int = 256,
        maxProcesses: Int = 64,
        perPrincipal: Int = 50,
        warmPoolSize: Int = 0,
        _ body: (TestGateway, String) async throws -> T
    ) async throws -> T {
        try await MicroVMExclusion.run(usesMicroVMs: driver == .microvm) {
            try await gatewayWithProbe(
                driver: driver, clock: clock, memoryMiB: memoryMiB, maxProcesses: maxProcesses, perPrincipal: perPrincipal, warmPoolSize: warmPoolSize, body
            )
        }
    }

    private static func gatewayWithProbe<T: Sendable>(
        driver: SandboxConfiguration.Driver, clock: any WallClock, memoryMiB: Int, maxProcesses: Int, perPrincipal: Int, warmPoolSize: Int,
        _ body: (TestGateway, String) async throws -> T
    ) async throws -> T {
        try await TestGateway.run(clock: clock, configure: { configuration in
            configuration.sandbox = SandboxConfiguration(
                driver: driver,
                memoryMiB: memoryMiB,
                cpus: 0.5,
                maxProcesses: maxProcesses,
                writableMiB: 16,
                maxSessions: 20,
                maxSessionsPerPrincipal: perPrincipal,
                // A VM's snapshot boots under emulation, on half a core, beside the rest of the suite.
                startTimeoutSeconds: driver == .microvm ? 90 : 20,
                warmPoolSize: warmPoolSize,
                microvm: MicroVMConfiguration(guestDirectory: microVMGuest, vcpus: 1)
            )
            configuration.agents = [
                DeclaredAgent(
                    name: "probe",
                    configuration: AgentRuntimeConfiguration(
                        artifact: .code(CodeArtifact(source: .path(probeAgent), runtime: "PYTHON_3_11", entryPoint: ["main.py"])),
                        roleArn: DeclaredAgent.roleArn,
                        lifecycle: LifecycleConfiguration(idleRuntimeSessionTimeout: 60, maxLifetime: 120),
                        environmentVariables: ["GREETING": "hello from the runtime"]
                    )
                )
            ]
        }) { gateway in
            let arn = try #require(try await gateway.gateway.runtimeARN(named: "probe"))
            return try await body(gateway, arn)
        }
    }

    /// A small bubblewrap sandbox and the probe agent declared as `probe`: one sandboxed agent for a test.
    static func declareProbe(in configuration: inout GatewayConfiguration) {
        configuration.sandbox = SandboxConfiguration(driver: .bubblewrap, memoryMiB: 256, cpus: 0.5, maxSessions: 4, startTimeoutSeconds: 20)
        configuration.agents = [
            DeclaredAgent(
                name: "probe",
                configuration: AgentRuntimeConfiguration(
                    artifact: .code(CodeArtifact(source: .path(probeAgent), runtime: "PYTHON_3_11", entryPoint: ["main.py"])),
                    roleArn: DeclaredAgent.roleArn
                )
            )
        ]
    }

    /// The drivers the isolation and lifecycle tests run under: bubblewrap, and microVMs where the host runs them
    /// (the microVM suite says why it skips where it cannot).
    static let drivers: [SandboxConfiguration.Driver] = canRunMicroVMs ? [.bubblewrap, .microvm] : [.bubblewrap]

    static func session(_ letter: String) -> String {
        "session-\(letter)-" + String(repeating: letter, count: 32)
    }

    /// Calls the probe in `session` and returns its JSON answer.
    static func probe(
        _ gateway: TestGateway,
        _ arn: String,
        session: String,
        _ action: [String: Any],
        key: String? = nil
    ) async throws -> (status: Int, json: [String: Any], headers: HTTPHeaders) {
        let body = String(decoding: try JSONSerialization.data(withJSONObject: action), as: UTF8.self)
        let response = try await gateway.send(
            .POST,
            gateway.invocationURL(arn),
            headers: [("Content-Type", "application/json"), ("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id", session)],
            body: body,
            key: key.map { .some($0) } ?? .none
        )
        let json = (try? TestGateway.json(response.body)) ?? ["raw": response.body]
        return (response.status, json, response.headers)
    }

    @Test("a warm pool gives each new session a sandbox started ahead of time, its own and never reused; it refills, and goes with the runtime")
    func warmPool() async throws {
        try await Self.withProbe(warmPoolSize: 2) { gateway, arn in
            let sandboxes = try #require(gateway.gateway.sessions.sandboxes)
            // The first call of a version starts its sandbox cold and fills the pool behind it.
            let variable = "X_AMZN_BEDROCK_AGENTCORE_RUNTIME_SESSION_ID"
            let first = try await Self.probe(gateway, arn, session: Self.session("p"), ["action": "echo", "variable": variable])
            #expect(first.status == 200)
            #expect(first.json["environment"] as? String == Self.session("p"), "a cold start knows its session from the start")
            try await CodeDeploymentTests.eventually { sandboxes.pooledCount == 2 }
            var hostnames: Set<String> = [try #require(first.json["hostname"] as? String)]
            for letter in ["q", "r", "s"] {
                let session = Self.session(letter)
                let answer = try await Self.probe(gateway, arn, session: session, ["action": "echo", "variable": variable])
                #expect(answer.status == 200, "\(answer.json)")
                #expect(answer.json["session"] as? String == session, "the pooled agent learns its session from the request")
                #expect(answer.json["environment"] is NSNull, "started before its session existed: \(answer.json)")
                let hostname = try #require(answer.json["hostname"] as? String)
                #expect(!hostnames.contains(hostname), "a sandbox of its own: \(hostname) in \(hostnames)")
                hostnames.insert(hostname)
                let written = try await Self.probe(gateway, arn, session: session, ["action": "write", "path": "/tmp/mine-\(letter)"])
                #expect(written.status == 200)
                try await CodeDeploymentTests.eventually { sandboxes.pooledCount == 2 }
            }
            // Nothing one session wrote is in the next one's sandbox.
            let fresh = try await Self.probe(gateway, arn, session: Self.session("t"), ["action": "list", "path": "/tmp"])
            #expect((fresh.json["ok"] as? [String])?.isEmpty == true, "\(fresh.json)")
            #expect(sandboxes.count == 5)
            // What deleting the runtime does: its sessions end and its pool is drained.
            await sandboxes.stopAll(runtimeId: try #require(arn.split(separator: "/").last.map(String.init)))
            #expect(sandboxes.pooledCount == 0 && sandboxes.count == 0)
        }
    }

    @Test("a second gateway process on the same data directory does not touch the first one's sandboxes")
    func secondGatewayOnOneDataDirectory() async throws {
        try await Self.withProbe { gateway, arn in
            let session = Self.session("o")
            let before = try await Self.probe(gateway, arn, session: session, ["action": "echo"])
            #expect(before.status == 200)
            do {
                _ = try await Gateway(configuration: gateway.gateway.configuration, logger: Logger(label: "second"))
                Issue.record("a second gateway with sandboxed agents started on the same data directory")
            } catch {
                #expect("\(error)".contains("another gateway process runs the sandboxes of this data directory"), "\(error)")
            }
            let after = try await Self.probe(gateway, arn, session: session, ["action": "echo"])
            #expect(after.status == 200, "the first gateway's session survived: \(after.json)")
            #expect(after.json["pid"] as? Int == before.json["pid"] as? Int, "the same sandbox")
        }
    }

    @Test("a session runs as its own uid in its own namespaces, with the contract's environment")
    func identityAndEnvironment() async throws {
        try await Self.withProbe { gateway, arn in
            let a = try await Self.probe(gateway, arn, session: Self.session("a"), ["action": "echo", "variable": "GREETING"])
            #expect(a.status == 200)
            #expect(a.json["session"] as? String == Self.session("a"))
            #expect(a.headers.first(name: "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id") == Self.session("a"))
            let uidA = try #require(a.json["uid"] as? Int)
            #expect((200_000...265_535).contains(uidA))
            #expect(a.json["docker"] as? String == "1")
            #expect(a.json["cwd"] as? String == "/app")
            #expect(a.json["home"] as? String == "/home/agent")
            #expect(a.json["environment"] as? String == "hello from the runtime")
            #expect((a.json["hostname"] as? String)?.hasPrefix("agent-") == true)
            let b = try await Self.probe(gateway, arn, session: Self.session("b"), ["action": "echo"])
            let uidB = try #require(b.json["uid"] as? Int)
            #expect(uidB != uidA)
            #expect(b.json["hostname"] as? String != a.json["hostname"] as? String)
            // The same session id reaches the same sandbox: its process is the same.
            let again = try await Self.probe(gateway, arn, session: Self.session("a"), ["action": "echo"])
            #expect(again.json["pid"] as? Int == a.json["pid"] as? Int)
            #expect(again.json["uid"] as? Int == uidA)
            #expect(gateway.gateway.sessions.sandboxes?.count == 2)
        }
    }

    @Test("sessions cannot see each other's files, the host's files or processes, and cannot write the code or /usr", arguments: drivers)
    func fileAndProcessIsolation(driver: SandboxConfiguration.Driver) async throws {
        try await Self.withProbe(driver: driver) { gateway, arn in
            let a = Self.session("a")
            let b = Self.session("b")
            #expect(try await Self.probe(gateway, arn, session: a, ["action": "write", "path": "/tmp/secret.txt", "content": "A's"]).json["ok"] as? Bool == true)
            #expect(try await Self.probe(gateway, arn, session: a, ["action": "write", "path": "/app/notes.txt"]).json["ok"] as? Bool == true)
            #expect(try await Self.probe(gateway, arn, session: a, ["action": "read", "path": "/tmp/secret.txt"]).json["ok"] as? String == "A's")
            #expect(try await Self.probe(gateway, arn, session: b, ["action": "read", "path": "/tmp/secret.txt"]).json["error"] as? String == "ENOENT")
            #expect(try await Self.probe(gateway, arn, session: b, ["action": "read", "path": "/app/notes.txt"]).json["error"] as? String == "ENOENT")
            // The code and the system are read-only (in a VM the code is a read-only disk under a writable overlay,
            // its files root's).
            let codeWrite = try await Self.probe(gateway, arn, session: a, ["action": "write", "path": "/app/main.py"]).json["error"] as? String
            #expect(codeWrite == (driver == .microvm ? "EACCES" : "EROFS"))
            #expect(try await Self.probe(gateway, arn, session: a, ["action": "write", "path": "/usr/evil"]).json["error"] as? String == "EROFS")
            // Nothing of the host: not the repository, not root's home, not the real accounts.
            #expect(try await Self.probe(gateway, arn, session: a, ["action": "list", "path": packageRoot.path]).json["error"] as? String == "ENOENT")
            // (A guest kernel makes a /root of its own, empty and closed to the agent.)
            let rootHome = try await Self.probe(gateway, arn, session: a, ["action": "list", "path": "/root"]).json
            #expect(rootHome["error"] as? String == (driver == .microvm ? "EACCES" : "ENOENT"), "\(rootHome)")
            #expect(try await Self.probe(gateway, arn, session: a, ["action": "read", "path": "/etc/shadow"]).json["error"] as? String == "ENOENT")
            let passwd = try #require(try await Self.probe(gateway, arn, session: a, ["action": "read", "path": "/etc/passwd"]).json["ok"] as? String)
            let hostAccounts = try String(contentsOfFile: "/etc/passwd", encoding: .utf8).split(separator: "\n")
            #expect(passwd.contains("agent:x:") && !hostAccounts.contains { passwd.contains($0) }, "\(passwd)")
            // Only its own processes: none of the host's (not this test process), and in a sandbox only its init
            // and the agent.
            let commands = try #require(try await Self.probe(gateway, arn, session: a, ["action": "processes"]).json["ok"] as? [String])
            let ownCommand = try String(contentsOfFile: "/proc/self/comm", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(commands.contains("python3") || commands.contains("python3.11"), "\(commands)")
            #expect(!commands.contains(ownCommand), "\(ownCommand) in \(commands)")
            if driver == .bubblewrap {
                let pids = try #require(try await Self.probe(gateway, arn, session: a, ["action": "pids"]).json["ok"] as? [Int])
                #expect(pids.count <= 3 && pids.allSatisfy { $0 < 10 })
            }
        }
    }

    @Test("a session has no network but its own loopback (a VM: its user-mode network, leading nowhere), and no new namespaces", arguments: drivers)
    func networkIsolation(driver: SandboxConfiguration.Driver) async throws {
        try await Self.withProbe(driver: driver) { gateway, arn in
            let a = Self.session("a")
            let interfaces = try await Self.probe(gateway, arn, session: a, ["action": "interfaces"]).json["ok"] as? [String]
            #expect(interfaces == (driver == .microvm ? ["eth0", "lo"] : ["lo"]))
            // The gateway listens on the host's 127.0.0.1; the sandbox's 127.0.0.1 is its own.
            let host = try await Self.probe(gateway, arn, session: a, ["action": "connect", "host": "127.0.0.1", "port": gateway.port])
            #expect(host.json["error"] as? String == "ECONNREFUSED", "\(host.json)")
            let outside = try await Self.probe(gateway, arn, session: a, ["action": "connect", "host": "192.0.2.1", "port": 443])
            if driver == .microvm {
                #expect(outside.json["ok"] == nil, "\(outside.json)")
            } else {
                #expect(outside.json["error"] as? String == "ENETUNREACH")
                // The seccomp filter refuses new namespaces (bubblewrap alone would allow a nested user namespace);
                // in a VM namespaces are the guest kernel's own business.
                #expect(try await Self.probe(gateway, arn, session: a, ["action": "unshare"]).json["error"] as? String == "EPERM")
            }
            #expect(try await Self.probe(gateway, arn, session: a, ["action": "resolve", "host": "example.com"]).json["error"] as? String == "gaierror")
            // Another session's agent is not reachable: the agent port on this session's loopback is its own agent.
            let hostnameA = try #require(try await Self.probe(gateway, arn, session: a, ["action": "echo"]).json["hostname"] as? String)
            let hostnameB = try #require(try await Self.probe(gateway, arn, session: Self.session("b"), ["action": "echo"]).json["hostname"] as? String)
            let reached = try await Self.probe(gateway, arn, session: Self.session("b"), ["action": "loopback", "port": 8080]).json["ok"] as? String
            #expect(reached == hostnameB && reached != hostnameA, "\(String(describing: reached)), A \(hostnameA), B \(hostnameB)")
        }
    }

    @Test("the process and memory limits hold: forks beyond the limit fail, memory beyond the limit ends the call with 424", arguments: drivers)
    func resourceLimits(driver: SandboxConfiguration.Driver) async throws {
        try await Self.withProbe(driver: driver, memoryMiB: 128, maxProcesses: 24) { gateway, arn in
            let a = Self.session("a")
            let forks = try await Self.probe(gateway, arn, session: a, ["action": "fork", "count": 100])
            #expect(forks.json["error"] as? String == "EAGAIN")
            #expect((forks.json["started"] as? Int ?? 100) < 24)
            let memory = try await Self.probe(gateway, arn, session: Self.session("m"), ["action": "allocate", "megabytes": 400])
            #expect(memory.status == 424)
            #expect(memory.json["__type"] as? String == "RuntimeClientError")
            // The out-of-memory kill ended that sandbox; the other session still answers.
            #expect(try await Self.probe(gateway, arn, session: a, ["action": "echo"]).status == 200)
        }
    }

    @Test("StopRuntimeSession destroys the sandbox: no process, cgroup or uid is left, and the next call starts afresh", arguments: drivers)
    func teardownLeavesNothing(driver: SandboxConfiguration.Driver) async throws {
        try await Self.withProbe(driver: driver) { gateway, arn in
            let a = Self.session("a")
            let first = try await Self.probe(gateway, arn, session: a, ["action": "write", "path": "/tmp/marker", "content": "old"])
            #expect(first.json["ok"] as? Bool == true)
            let sandboxes = try #require(gateway.gateway.sessions.sandboxes)
            let sandboxId = try #require(sandboxes.activeSessions().first?.record.sandboxId)
            // The host processes of the session: the sandbox's (its uid's), or the VM's monitor.
            let hostProcesses: () -> [Int]
            if driver == .microvm {
                hostProcesses = { MicroVMTests.monitorProcesses(of: sandboxId) }
            } else {
                let uid = try #require(try await Self.probe(gateway, arn, session: a, ["action": "echo"]).json["uid"] as? Int)
                hostProcesses = { Self.processes(ofUID: uid) }
            }
            #expect(!Self.cgroupDirectories(named: sandboxId).isEmpty)
            #expect(!hostProcesses().isEmpty)
            let stop = try await gateway.send(
                .POST,
                gateway.invocationURL(arn, suffix: "/stopruntimesession"),
                headers: [("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id", a)],
                body: "{}"
            )
            #expect(stop.status == 200)
            #expect(sandboxes.count == 0)
            #expect(Self.cgroupDirectories(named: sandboxId).isEmpty)
            #expect(hostProcesses().isEmpty)
            // Stopping again: the session is gone.
            let again = try await gateway.send(
                .POST,
                gateway.invocationURL(arn, suffix: "/stopruntimesession"),
                headers: [("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id", a)],
                body: "{}"
            )
            #expect(again.status == 404)
            // A later call with the same id gets a fresh sandbox: nothing of the old one survived.
            #expect(try await Self.probe(gateway, arn, session: a, ["action": "read", "path": "/tmp/marker"]).json["error"] as? String == "ENOENT")
        }
    }

    @Test("a session belongs to its principal; quotas refuse sessions beyond the limit with 402")
    func ownershipAndQuotas() async throws {
        try await Self.withProbe(perPrincipal: 2) { gateway, arn in
            #expect(try await Self.probe(gateway, arn, session: Self.session("a"), ["action": "echo"]).status == 200)
            let other = try await gateway.gateway.apiKeys.issue(name: "other", agents: ["*"], administrator: false, expiresAt: nil)
            let stolen = try await Self.probe(gateway, arn, session: Self.session("a"), ["action": "echo"], key: other.key)
            #expect(stolen.status == 404)
            #expect(stolen.json["__type"] as? String == "ResourceNotFoundException")
            #expect(try await Self.probe(gateway, arn, session: Self.session("b"), ["action": "echo"]).status == 200)
            let third = try await Self.probe(gateway, arn, session: Self.session("c"), ["action": "echo"])
            #expect(third.status == 402)
            #expect(third.json["__type"] as? String == "ServiceQuotaExceededException")
            // Another principal has its own quota.
            #expect(try await Self.probe(gateway, arn, session: Self.session("d"), ["action": "echo"], key: other.key).status == 200)
        }
    }

    @Test("idle timeout counts from the last call, not while /ping says HealthyBusy; max lifetime ends a session", arguments: drivers)
    func idleAndLifetime(driver: SandboxConfiguration.Driver) async throws {
        let clock = ManualClock()
        try await Self.withProbe(driver: driver, clock: clock) { gateway, arn in
            let sandboxes = try #require(gateway.gateway.sessions.sandboxes)
            let a = Self.session("a")
            #expect(try await Self.probe(gateway, arn, session: a, ["action": "busy", "seconds": 600]).status == 200)
            clock.advance(by: 61)
            await sandboxes.sweep()
            #expect(sandboxes.count == 1, "HealthyBusy keeps the session")
            #expect(try await Self.probe(gateway, arn, session: a, ["action": "busy", "seconds": 0]).status == 200)
            clock.advance(by: 30)
            await sandboxes.sweep()
            #expect(sandboxes.count == 1, "30 s idle is below the 60 s timeout")
            clock.advance(by: 31)
            await sandboxes.sweep()
            #expect(sandboxes.count == 0, "61 s after the last call, Healthy: ended")

            let b = Self.session("b")
            #expect(try await Self.probe(gateway, arn, session: b, ["action": "echo"]).status == 200)
            let pid = try await Self.probe(gateway, arn, session: b, ["action": "echo"]).json["pid"] as? Int
            for _ in 0..<2 {
                clock.advance(by: 40)
                #expect(try await Self.probe(gateway, arn, session: b, ["action": "echo"]).json["pid"] as? Int == pid)
                await sandboxes.sweep()
                #expect(sandboxes.count == 1)
            }
            clock.advance(by: 41)
            await sandboxes.sweep()
            #expect(sandboxes.count == 0, "120 s max lifetime ends a session that was never idle")
        }
    }

    @Test("a WebSocket reaches the session's sandbox, and its session continues over HTTP")
    func webSocketToTheSandbox() async throws {
        try await Self.withProbe { gateway, arn in
            let a = Self.session("a")
            let client = try await WebSocketTests.connect(
                gateway,
                arn: arn,
                headers: [("Authorization", "Bearer \(gateway.invokeKey)"), ("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id", a)]
            )
            try await client.executeThenClose { inbound, outbound in
                var frames = inbound.makeAsyncIterator()
                try await outbound.write(WebSocketTests.text("hello"))
                let echo = try #require(try await frames.next())
                #expect(String(buffer: echo.unmaskedData) == "\(a):hello")
            }
            #expect(gateway.gateway.sessions.sandboxes?.count == 1)
            let uid = try await Self.probe(gateway, arn, session: a, ["action": "echo"]).json["uid"] as? Int
            #expect(uid != nil)
            #expect(gateway.gateway.sessions.sandboxes?.count == 1, "the HTTP call continued the WebSocket's session")
        }
    }

    static func cgroupDirectories(named id: String) -> [String] {
        var found: [String] = []
        for hierarchy in ["unified", "memory", "cpu", "pids"] {
            let root = "/sys/fs/cgroup/\(hierarchy)"
            guard let walker = FileManager.default.enumerator(atPath: root) else { continue }
            for case let path as String in walker where path.hasSuffix("/" + id) {
                found.append("\(root)/\(path)")
            }
        }
        return found
    }

    static func processes(ofUID uid: Int) -> [Int] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int.init).filter { pid in
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Uid:") })
            else { return false }
            return line.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().first.map { Int($0) == uid } ?? false
        }
    }
}
