import ArgumentParser
import Logging
import PortcullisCore
import PortcullisGateway
import PortcullisStore

/// Where the CLI finds the store: a configuration file, or a data directory.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "Data directory of a `portcullis dev` gateway (default .portcullis).")
    var data: String?

    @Option(name: .long, help: "Configuration file of a `portcullis serve` gateway; its store is used.")
    var config: String?

    func openStore(logger: Logger) throws -> SQLiteStore {
        try SQLiteStore(path: try configuration().store.sqlitePath(), logger: logger)
    }

    /// The key ring the gateway would use (key directory and `PORTCULLIS_KEY_RING`).
    func loadKeyRing() throws -> KeyRing {
        do {
            return try KeyRing.load(directory: try keyDirectory())
        } catch let error as SecretsError {
            throw ValidationError("keyRing: \(error.detail)")
        }
    }

    func keyDirectory() throws -> String {
        let configuration = try configuration()
        return configuration.keyRing.resolvedDirectory(store: configuration.store)
    }

    func configuration() throws -> GatewayConfiguration {
        guard data == nil || config == nil else {
            throw ValidationError("Give either --data or --config, not both")
        }
        if let config {
            do {
                return try ConfigurationFile.load(path: config)
            } catch let error as ConfigurationError {
                throw ValidationError(error.description)
            }
        }
        return GatewayConfiguration(store: StoreConfiguration(dataDirectory: data ?? ".portcullis"))
    }
}
