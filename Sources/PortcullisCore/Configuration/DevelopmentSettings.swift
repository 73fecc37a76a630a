/// What `portcullis dev` turns on beyond a normal gateway: the built-in development identity provider.
///
/// Deliberately not part of the configuration file: `portcullis serve` can never enable it.
public struct DevelopmentSettings: Sendable, Equatable {
    /// The provider's issuer, `<gateway URL>/dev-idp`; its endpoints live under the same path.
    public var issuer: String
    /// The PEM file holding its signing key (created 0600 on first start).
    public var keyFile: String
    /// The secret of its confidential client `portcullis-dev` (the gateway's own browser sign-in).
    public var webClientSecret: String

    public init(issuer: String, keyFile: String, webClientSecret: String) {
        self.issuer = issuer
        self.keyFile = keyFile
        self.webClientSecret = webClientSecret
    }

    /// The name it has in `auth.issuers`.
    public static let issuerName = "dev"
    public static let webClientId = "portcullis-dev"
    public static let cliClientId = "portcullis-cli"
    /// The audience of the access tokens it issues.
    public static let audience = "portcullis-dev"
    public static let path = "/dev-idp"

    /// The provider as a trusted issuer: its tokens' audience, administrators (group `platform-admins`), and the
    /// sign-in clients (`portcullis-dev` for browsers, `portcullis-cli` for `portcullis login`).
    /// - Parameter clientSecretFile: the file holding ``webClientSecret``.
    public func issuerConfiguration(clientSecretFile: String) -> IssuerConfiguration {
        IssuerConfiguration(
            name: Self.issuerName,
            issuer: issuer,
            jwksURI: issuer + "/jwks.json",
            audiences: [Self.audience],
            administrators: AdministratorRule(groups: ["platform-admins"]),
            signIn: SignInClientConfiguration(
                clientId: Self.webClientId,
                clientSecretFile: clientSecretFile,
                cliClientId: Self.cliClientId,
                scopes: ["openid", "profile", "email", "agents:invoke"]
            )
        )
    }
}
