/// Runs an action when the caller's connection closes, for as long as this object lives: dropping it (the response
/// was fully relayed, or abandoned) unregisters the action.
final class ClientDisconnectWatch: Sendable {
    private let client: ClientConnection?
    private let registration: Int?

    /// `true` when the client had already gone and the action was not registered.
    let clientAlreadyGone: Bool

    init(client: ClientConnection?, onDisconnect: @escaping @Sendable () -> Void) {
        self.client = client
        self.registration = client?.onClose(onDisconnect)
        self.clientAlreadyGone = client != nil && registration == nil
    }

    deinit {
        if let registration { client?.cancelOnClose(registration) }
    }
}
