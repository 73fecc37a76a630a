import Synchronization

/// The base URL the gateway tells agents it is reached at, for what they advertise to their own clients (an A2A
/// agent's card names the URL its clients call): `server.publicURL` when configured, else the address the listener
/// bound (known only once it runs, since the configured port may be 0).
final class AdvertisedGatewayURL: Sendable {
    private let value: Mutex<String?>

    init(configured: String?) {
        value = Mutex(configured)
    }

    var base: String? { value.withLock { $0 } }

    /// Records the bound address unless a public URL is configured. A wildcard host is advertised as loopback: a
    /// client elsewhere needs `server.publicURL` anyway.
    func listenerBound(host: String, port: Int, isTLS: Bool) {
        value.withLock { current in
            guard current == nil else { return }
            let reachable = host == "0.0.0.0" || host == "::" || host.isEmpty ? "127.0.0.1" : host
            let authority = reachable.contains(":") ? "[\(reachable)]:\(port)" : "\(reachable):\(port)"
            current = (isTLS ? "https://" : "http://") + authority
        }
    }
}
