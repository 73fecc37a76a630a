import ArgumentParser
import Foundation
import PortcullisCore
import PortcullisIdentity
import PortcullisStore

/// `portcullis apikey create|list|revoke`.
struct APIKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apikey",
        abstract: "Issue, list and revoke API keys.",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue an API key. The key is printed once and stored only as a hash."
        )

        @OptionGroup var store: StoreOptions
        @OptionGroup var key: CredentialOptions

        func run() async throws {
            let logger = LoggingSetup.logger(level: "warning")
            let opened = try store.openStore(logger: logger)
            let service = APIKeyService(store: opened)
            let issued: APIKeyService.IssuedKey
            do {
                issued = try await service.issue(name: key.name, agents: key.agent, administrator: key.admin, expiresAt: try key.expiresAt())
            } catch let error as AgentCoreError {
                throw ValidationError(error.fields.first?.message ?? error.message)
            }
            try await CommandAudit.credentialChange("CreateApiKey", id: issued.record.id, name: key.name, admin: key.admin, store: opened)
            if key.json {
                var object = CredentialListing.members(issued.record, now: Date())
                object["id"] = issued.record.id
                object["apiKey"] = issued.key
                try CredentialListing.printJSON(object)
            } else {
                print("API key \(issued.record.id) (\(issued.record.name)) created. Store it now; it is not shown again:")
                print(issued.key)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List API keys (never their secrets).")

        @OptionGroup var store: StoreOptions

        @Flag(name: .long, help: "Print the result as JSON.")
        var json = false

        func run() async throws {
            let logger = LoggingSetup.logger(level: "warning")
            let records = try await APIKeyService(store: try store.openStore(logger: logger)).list()
            let now = Date()
            if json {
                try CredentialListing.printJSON(records.map { record in
                    CredentialListing.members(record, now: now).merging(["id": record.id]) { $1 }
                })
                return
            }
            print("ID            NAME                 STATUS   ADMIN  AGENTS               CREATED               LAST USED")
            for record in records {
                let columns = [CredentialListing.pad(record.id, 13)] + CredentialListing.columns(record, now: now)
                    + [CredentialListing.pad(record.createdAt.formatted(.iso8601), 21), CredentialListing.lastUsed(record)]
                print(columns.joined(separator: " "))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke an API key by id. A running gateway stops accepting it within auth.apiKeyCacheSeconds."
        )

        @OptionGroup var store: StoreOptions

        @Argument(help: "The key id (the 12 characters after pcs_).")
        var id: String

        func run() async throws {
            let logger = LoggingSetup.logger(level: "warning")
            let opened = try store.openStore(logger: logger)
            guard try await APIKeyService(store: opened).revoke(id: id) else {
                throw ValidationError("No API key with id \(id)")
            }
            try await CommandAudit.credentialChange("RevokeApiKey", id: id, store: opened)
            print("API key \(id) revoked.")
        }
    }
}
