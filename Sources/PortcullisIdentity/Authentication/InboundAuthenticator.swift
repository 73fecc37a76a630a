public import PortcullisCore

/// One way of proving identity (API keys, JWTs, SigV4). The chain hands each credential to the authenticator that
/// claims its kind.
public protocol InboundAuthenticator: Sendable {
    /// Whether this authenticator handles `credential`.
    func handles(_ credential: InboundCredential) -> Bool

    /// The principal behind `credential`.
    /// - Throws: ``AuthenticationError`` when the credential is not valid.
    func authenticate(_ credential: InboundCredential) async throws(AuthenticationError) -> Principal
}

/// The ordered set of authenticators a gateway trusts. A credential no authenticator handles is refused: the chain
/// fails closed.
public struct AuthenticatorChain: Sendable {
    let authenticators: [any InboundAuthenticator]

    public init(_ authenticators: [any InboundAuthenticator]) {
        self.authenticators = authenticators
    }

    public func authenticate(_ credential: InboundCredential) async throws(AuthenticationError) -> Principal {
        for authenticator in authenticators where authenticator.handles(credential) {
            return try await authenticator.authenticate(credential)
        }
        throw AuthenticationError(.unsupportedCredential)
    }
}
