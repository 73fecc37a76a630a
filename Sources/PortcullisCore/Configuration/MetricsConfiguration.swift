/// `metrics`: the Prometheus scrape endpoint. Off unless `listen` is set; it is a listener of its own (never the
/// gateway's), so the scrape port can stay on a management network while the gateway faces clients.
public struct MetricsConfiguration: Sendable, Equatable, Decodable {
    /// Where `GET /metrics` is served (`HOST:PORT`; port 0 picks a free one). Unauthenticated, like every
    /// Prometheus target: bind it to loopback or a network only the scraper reaches.
    public var listen: ListenAddress?

    public init(listen: ListenAddress? = nil) {
        self.listen = listen
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case listen }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let text = try container.decodeIfPresent(String.self, forKey: .listen) {
            self.listen = try ListenAddress(parsing: text)
        }
    }
}
