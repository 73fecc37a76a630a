import ArgumentParser
import Foundation
import PortcullisCore
import PortcullisIdentity
import PortcullisStore

/// `portcullis accesskey create|list|revoke`: AWS Signature V4 access keys for boto3 and the AWS SDKs.
struct AccessKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accesskey",
        abstract: "Issue, list and revoke SigV4 access keys (for boto3 and other AWS SDKs).",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue an access key pair. The secret is printed once and stored sealed by the key ring."
        )

        @OptionGroup var store: StoreOptions
        @OptionGroup var key: CredentialOptions

        @Flag(name: .long, help: "Allow callers to name the end user they invoke for (X-Amzn-Bedrock-AgentCore-Runtime-User-Id).")
        var actForUsers = false

        func run() async throws {
            let logger = LoggingSetup.logger(level: "warning")
            let opened = try store.openStore(logger: logger)
            let service = AccessKeyService(store: opened, keyRing: try store.loadKeyRing())
            let issued: AccessKeyService.IssuedKey
            do {
                issued = try await service.issue(
                    name: key.name,
                    agents: key.agent,
                    administrator: key.admin,
                    actForUsers: actForUsers,
                    expiresAt: try key.expiresAt()
                )
            } catch let error as AgentCoreError {
                throw ValidationError(error.fields.first?.message ?? error.message)
            } catch let error as SecretsError where error.code == .sealed {
                throw ValidationError("No key-encryption key is loaded, so the secret cannot be stored: run `portcullis keys generate` first")
            }
            try await CommandAudit.credentialChange("CreateAccessKey", id: issued.record.id, name: key.name, admin: key.admin, store: opened)
            if key.json {
                var object = CredentialListing.members(issued.record, now: Date())
                object["accessKeyId"] = issued.record.id
                object["secretAccessKey"] = issued.secret
                object["actForUsers"] = issued.record.mayActForUsers
                try CredentialListing.printJSON(object)
            } else {
                print("Access key \(issued.record.id) (\(issued.record.name)) created. Store the secret now; it is not shown again:")
                print("AWS_ACCESS_KEY_ID=\(issued.record.id)")
                print("AWS_SECRET_ACCESS_KEY=\(issued.secret)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List access keys (never their secrets).")

        @OptionGroup var store: StoreOptions

        @Flag(name: .long, help: "Print the result as JSON.")
        var json = false

        func run() async throws {
            let logger = LoggingSetup.logger(level: "warning")
            let records = try await store.openStore(logger: logger).accessKeys()
            let now = Date()
            if json {
                try CredentialListing.printJSON(records.map { record in
                    CredentialListing.members(record, now: now).merging(["accessKeyId": record.id, "actForUsers": record.mayActForUsers]) { $1 }
                })
                return
            }
            print("ACCESS KEY ID         NAME                 STATUS   ADMIN  AGENTS               USERS  LAST USED")
            for record in records {
                let columns = [CredentialListing.pad(record.id, 21)] + CredentialListing.columns(record, now: now)
                    + [CredentialListing.pad(record.mayActForUsers ? "yes" : "no", 6), CredentialListing.lastUsed(record)]
                print(columns.joined(separator: " "))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke an access key. A running gateway stops accepting it within auth.apiKeyCacheSeconds."
        )

        @OptionGroup var store: StoreOptions

        @Argument(help: "The access key id (PCAK…).")
        var id: String

        func run() async throws {
            let logger = LoggingSetup.logger(level: "warning")
            let opened = try store.openStore(logger: logger)
            let service = AccessKeyService(store: opened, keyRing: try store.loadKeyRing())
            guard try await service.revoke(id: id) else {
                throw ValidationError("No access key with id \(id)")
            }
            try await CommandAudit.credentialChange("RevokeAccessKey", id: id, store: opened)
            print("Access key \(id) revoked.")
        }
    }
}
