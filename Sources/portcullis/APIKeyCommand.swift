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

        @Option(name: .long, help: "A name for people, e.g. the service that uses the key.")
        var name: String

        @Option(name: .long, help: "An agent runtime name the key may invoke; repeat for several, or * for all.")
        var agent: [String] = []

        @Flag(name: .long, help: "Allow the key to use the control plane (create and change agent runtimes).")
        var admin = false

        @Option(name: .long, help: "Lifetime such as 90d, 12h, 30m or 3600s; the key never expires without it.")
        var expiresIn: String?

        @Flag(name: .long, help: "Print the result as JSON.")
        var json = false

        func run() async throws {
            let logger = LoggingSetup.logger(level: "warning")
            let expiresAt = try expiresIn.map { Date().addingTimeInterval(try Self.parseDuration($0)) }
            let service = APIKeyService(store: try store.openStore(logger: logger))
            let issued: APIKeyService.IssuedKey
            do {
                issued = try await service.issue(name: name, agents: agent, administrator: admin, expiresAt: expiresAt)
            } catch let error as AgentCoreError {
                throw ValidationError(error.fields.first?.message ?? error.message)
            }
            if json {
                let object: [String: Any] = [
                    "id": issued.record.id, "name": issued.record.name, "apiKey": issued.key,
                    "agents": issued.record.agentScope.names, "admin": issued.record.isAdministrator,
                    "expiresAt": issued.record.expiresAt.map { $0.formatted(.iso8601) } ?? NSNull(),
                ]
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                print("API key \(issued.record.id) (\(issued.record.name)) created. Store it now; it is not shown again:")
                print(issued.key)
            }
        }

        static func parseDuration(_ text: String) throws -> TimeInterval {
            guard let unit = text.last, let value = Double(text.dropLast()), value > 0 else {
                throw ValidationError("--expires-in takes a number and a unit: 90d, 12h, 30m or 3600s")
            }
            switch unit {
            case "d": return value * 86_400
            case "h": return value * 3600
            case "m": return value * 60
            case "s": return value
            default: throw ValidationError("--expires-in takes a number and a unit: 90d, 12h, 30m or 3600s")
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
                let objects: [[String: Any]] = records.map { record in
                    [
                        "id": record.id, "name": record.name, "agents": record.agentScope.names, "admin": record.isAdministrator,
                        "createdAt": record.createdAt.formatted(.iso8601),
                        "expiresAt": record.expiresAt.map { $0.formatted(.iso8601) } ?? NSNull(),
                        "revokedAt": record.revokedAt.map { $0.formatted(.iso8601) } ?? NSNull(),
                        "lastUsedAt": record.lastUsedAt.map { $0.formatted(.iso8601) } ?? NSNull(),
                        "status": Self.status(record, now),
                    ]
                }
                let data = try JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            print("ID            NAME                 STATUS   ADMIN  AGENTS               CREATED               LAST USED")
            for record in records {
                let columns = [
                    record.id.padding(toLength: 13, withPad: " ", startingAt: 0),
                    String(record.name.prefix(20)).padding(toLength: 20, withPad: " ", startingAt: 0),
                    Self.status(record, now).padding(toLength: 8, withPad: " ", startingAt: 0),
                    (record.isAdministrator ? "yes" : "no").padding(toLength: 6, withPad: " ", startingAt: 0),
                    String(record.agentScope.names.joined(separator: ",").prefix(20)).padding(toLength: 20, withPad: " ", startingAt: 0),
                    record.createdAt.formatted(.iso8601).padding(toLength: 21, withPad: " ", startingAt: 0),
                    record.lastUsedAt.map { $0.formatted(.iso8601) } ?? "never",
                ]
                print(columns.joined(separator: " "))
            }
        }

        static func status(_ record: APIKeyRecord, _ now: Date) -> String {
            if record.revokedAt != nil { return "revoked" }
            if let expiresAt = record.expiresAt, expiresAt <= now { return "expired" }
            return "active"
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
            guard try await APIKeyService(store: try store.openStore(logger: logger)).revoke(id: id) else {
                throw ValidationError("No API key with id \(id)")
            }
            print("API key \(id) revoked.")
        }
    }
}
