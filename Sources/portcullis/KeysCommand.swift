import ArgumentParser
import PortcullisCore
import PortcullisVault

/// `portcullis keys generate|rotate|rewrap`: the key ring's key-encryption keys.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Manage the key ring that seals secrets at rest.",
        subcommands: [Generate.self, Rotate.self, Rewrap.self]
    )

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a new key-encryption key (one version above the newest) into the key directory. New secrets are sealed with it."
        )

        @OptionGroup var store: StoreOptions

        func run() async throws {
            let directory = try store.keyDirectory()
            do {
                let version = try KeyRing.generateKey(in: directory)
                print("Key version \(version) written to \(directory)/kek-\(version).key (mode 0600). Back it up: secrets sealed with it cannot be read without it.")
            } catch {
                throw ValidationError(error.detail)
            }
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a new key-encryption key and re-wrap every stored secret with it (one gateway, stopped; see docs/operations.md for several).",
            discussion: "Interrupted, run `portcullis keys rewrap` to finish: it picks up where this stopped."
        )

        @OptionGroup var store: StoreOptions

        func run() async throws {
            let directory = try store.keyDirectory()
            let version: UInt32
            do {
                version = try KeyRing.generateKey(in: directory)
            } catch {
                throw ValidationError(error.detail)
            }
            print("Key version \(version) written to \(directory)/kek-\(version).key (mode 0600).")
            try await Rewrap.rewrap(store)
        }
    }

    struct Rewrap: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-wrap every stored secret with the newest key-encryption key (idempotent; resumes an interrupted rotation)."
        )

        @OptionGroup var store: StoreOptions

        func run() async throws {
            try await Self.rewrap(store)
        }

        static func rewrap(_ options: StoreOptions) async throws {
            let keyRing = try options.loadKeyRing()
            guard let active = keyRing.activeVersion else { throw ValidationError("No key-encryption key is loaded: nothing to re-wrap with") }
            let opened = try options.openStore(logger: LoggingSetup.logger(level: "warning"))
            let progress = try await SecretRewrap(keyRing: keyRing, accessKeys: opened, providers: opened, vault: opened).run()
            try await CommandAudit.credentialChange("RewrapSecrets", id: "key-ring/v\(active)", store: opened)
            print("Re-wrapped \(progress.rewrapped) secrets with key version \(active); \(progress.current) already were.")
            if !progress.unreadable.isEmpty {
                throw ValidationError(
                    "\(progress.unreadable.count) secrets do not open with the loaded keys and were left as they are: "
                        + progress.unreadable.prefix(10).joined(separator: ", ")
                )
            }
        }
    }
}
