import Foundation
import PortcullisCore
@testable import PortcullisGateway
import PortcullisSessions
import Testing

/// The `process` driver: no isolation, for development without bubblewrap; refused unless allowed.
@Suite("The process driver (no isolation)", .enabled(if: geteuid() == 0, "runs the agent as nobody, which needs root"))
struct ProcessDriverTests {
    @Test("an agent runs as a plain process in a working directory of its own, one session per port; stopping it removes everything")
    func plainProcesses() async throws {
        let port = try RefusingPort.free()
        try await TestGateway.run(configure: { configuration in
            configuration.sandbox = SandboxConfiguration(driver: .process, startTimeoutSeconds: 20, allowProcessDriver: true)
            configuration.agents = [
                DeclaredAgent(
                    name: "probe",
                    configuration: AgentRuntimeConfiguration(
                        artifact: .code(CodeArtifact(source: .path(SandboxTests.probeAgent), runtime: "PYTHON_3_11", entryPoint: ["main.py"])),
                        roleArn: DeclaredAgent.roleArn,
                        protocolConfiguration: ProtocolConfiguration(serverProtocol: .http, port: port),
                        environmentVariables: ["PORT": String(port)]
                    )
                )
            ]
        }) { gateway in
            let arn = try #require(try await gateway.gateway.runtimeARN(named: "probe"))
            let sandboxes = try #require(gateway.gateway.sessions.sandboxes)
            #expect(sandboxes.driverName == "process")
            let first = SandboxTests.session("a")
            let answer = try await SandboxTests.probe(gateway, arn, session: first, ["action": "echo"])
            #expect(answer.status == 200, "\(answer.json)")
            #expect(answer.json["uid"] as? Int == 65_534, "run as nobody, since the gateway is root")
            let data = gateway.gateway.configuration.store.dataDirectory
            let cwd = try #require(answer.json["cwd"] as? String)
            #expect(cwd.hasPrefix(URL(fileURLWithPath: data).standardizedFileURL.path + "/processes/") && cwd.hasSuffix("/work"), "\(cwd)")
            #expect(FileManager.default.fileExists(atPath: cwd + "/main.py"), "the code is in the working directory")
            let written = try await SandboxTests.probe(gateway, arn, session: first, ["action": "write", "path": "notes.txt"])
            #expect(written.json["ok"] as? Bool == true, "the working directory is the session's to write: \(written.json)")
            #expect(sandboxes.activeSessions().first?.record.driver == "process")

            let second = try await SandboxTests.probe(gateway, arn, session: SandboxTests.session("b"), ["action": "echo"])
            #expect(second.status == 424, "a second session would need the same host port: \(second.json)")

            try await sandboxes.stop(runtimeId: try #require(arn.split(separator: "/").last.map(String.init)), sessionId: first, principalId: nil)
            #expect(!FileManager.default.fileExists(atPath: cwd), "the session's directory is removed")
            let again = try await SandboxTests.probe(gateway, arn, session: SandboxTests.session("b"), ["action": "echo"])
            #expect(again.status == 200, "the port is free again: \(again.json)")
        }
    }
}
