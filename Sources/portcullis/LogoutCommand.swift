import ArgumentParser

/// `portcullis logout`: forgets the tokens kept for a gateway.
struct LogoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logout", abstract: "Forget the tokens `portcullis login` kept for a gateway.")

    @OptionGroup var target: GatewayOptions

    @Option(name: .long, help: "Only this issuer's token.")
    var issuer: String?

    func run() async throws {
        let gateway = try target.url()
        let removed = try TokenFile().remove(gateway: gateway, issuer: issuer)
        print(removed == 0 ? "No token kept for \(gateway)." : "Signed out of \(gateway).")
    }
}
