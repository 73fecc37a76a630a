import ArgumentParser
import NIOCore
import NIOPosix

/// `portcullis`: the gateway's command line. Each subcommand only wires parts together.
@main
struct PortcullisCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "portcullis",
        abstract: "A self-hosted, identity-first gateway and session runtime for AI agents, compatible with the AgentCore API.",
        subcommands: [
            ServeCommand.self, DevCommand.self, LoginCommand.self, LogoutCommand.self, InvokeCommand.self, APIKeyCommand.self,
            AccessKeyCommand.self, KeysCommand.self, PolicyCommand.self, SessionsCommand.self, UsageCommand.self, AuditCommand.self, EchoAgentCommand.self,
        ]
    )

    /// Runs Swift concurrency on NIO's event-loop threads, so request handling does not hop between the
    /// concurrency pool and the threads that do the I/O. This must happen first, on the main thread.
    static func main() async {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        await main(nil)
    }
}
