import ArgumentParser
import PortcullisCore

/// `portcullis keys generate`: the key ring's key-encryption keys.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Manage the key ring that seals secrets at rest.",
        subcommands: [Generate.self]
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
}
