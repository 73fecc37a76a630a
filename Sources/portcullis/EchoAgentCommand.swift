import ArgumentParser
import EchoAgent
import Hummingbird
import Logging
import PortcullisCore

/// `portcullis echo-agent`: runs the example echo agent on its own.
struct EchoAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "echo-agent",
        abstract: "Run the example echo agent (the AgentCore container contract) on its own."
    )

    @Option(name: .long, help: "Address to listen on, HOST:PORT.")
    var listen: String = "127.0.0.1:9000"

    func run() async throws {
        let address = try ListenAddress(parsing: listen)
        let logger = LoggingSetup.logger(level: "info", label: "echo-agent")
        let app = EchoAgent.makeApplication(host: address.host, port: address.port, logger: logger) { channel in
            logger.notice("echo agent listening", metadata: ["port": "\(channel.localAddress?.port ?? address.port)"])
        }
        try await app.runService()
    }
}
