import ArgumentParser

/// `portcullis`: the gateway's command line. Each subcommand only wires parts together.
@main
struct PortcullisCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "portcullis",
        abstract: "A self-hosted, identity-first gateway and session runtime for AI agents, compatible with the AgentCore API.",
        subcommands: [ServeCommand.self, DevCommand.self, APIKeyCommand.self, EchoAgentCommand.self]
    )
}
