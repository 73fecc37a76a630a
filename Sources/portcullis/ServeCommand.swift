import ArgumentParser
import Hummingbird
import Logging
import PortcullisCore
import PortcullisGateway

/// `portcullis serve --config FILE`: production mode.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the gateway with the configuration in a YAML file (see docs/configuration.md)."
    )

    @Option(name: .long, help: "The YAML configuration file.")
    var config: String

    func run() async throws {
        let configuration: GatewayConfiguration
        do {
            configuration = try ConfigurationFile.load(path: config)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        let logger = LoggingSetup.logger(level: configuration.logging.level, format: configuration.logging.format)
        let gateway = try await Gateway(configuration: configuration, logger: logger)
        let scheme = configuration.server.tls == nil ? "http" : "https"
        let app = try gateway.makeApplication { channel in
            let port = channel.localAddress?.port ?? configuration.server.listen.port
            logger.notice("portcullis listening", metadata: ["address": "\(scheme)://\(configuration.server.listen.host):\(port)"])
        }
        try await app.runService()
    }
}
