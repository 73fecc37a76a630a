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
        guard data == nil || config == nil else {
            throw ValidationError("Give either --data or --config, not both")
        }
        let storeConfiguration: StoreConfiguration
        if let config {
            do {
                storeConfiguration = try ConfigurationFile.load(path: config).store
            } catch let error as ConfigurationError {
                throw ValidationError(error.description)
            }
        } else {
            storeConfiguration = StoreConfiguration(dataDirectory: data ?? ".portcullis")
        }
        return try SQLiteStore(path: try storeConfiguration.sqlitePath(), logger: logger)
    }
}
