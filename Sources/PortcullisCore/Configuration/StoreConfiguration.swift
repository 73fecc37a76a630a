/// `store`: where state lives.
public struct StoreConfiguration: Sendable, Equatable, Decodable {
    /// Directory for the SQLite database and other local state.
    public var dataDirectory: String
    /// A store URL; `sqlite:///absolute/path.sqlite` or `sqlite:relative/path.sqlite`. Defaults to
    /// `<dataDirectory>/portcullis.sqlite`.
    public var url: String?

    public init(dataDirectory: String = ".portcullis", url: String? = nil) {
        self.dataDirectory = dataDirectory
        self.url = url
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case dataDirectory, url }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.dataDirectory = try container.value(.dataDirectory, default: ".portcullis")
        self.url = try container.decodeIfPresent(String.self, forKey: .url)
        _ = try sqlitePath()
    }

    /// The SQLite database file this configuration names.
    public func sqlitePath() throws -> String {
        guard let url else { return dataDirectory + "/portcullis.sqlite" }
        if url.hasPrefix("sqlite://") {
            let path = String(url.dropFirst("sqlite://".count))
            guard path.hasPrefix("/") else { throw ConfigurationError("store.url: sqlite:// needs an absolute path") }
            return path
        }
        if url.hasPrefix("sqlite:") {
            let path = String(url.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw ConfigurationError("store.url: sqlite: needs a path") }
            return path
        }
        throw ConfigurationError("store.url: unsupported store '\(url)'; use sqlite:PATH")
    }
}
