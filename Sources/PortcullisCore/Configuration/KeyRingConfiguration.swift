/// `keyRing`: where the key-encryption keys that seal secrets at rest are found (see ``KeyRing``).
public struct KeyRingConfiguration: Sendable, Equatable, Decodable {
    /// The directory holding `kek-<version>.key` files; `<store.dataDirectory>/keys` when not set.
    public var directory: String?

    public init(directory: String? = nil) {
        self.directory = directory
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case directory }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.directory = try container.decodeIfPresent(String.self, forKey: .directory)
    }

    /// The key directory for a store.
    public func resolvedDirectory(store: StoreConfiguration) -> String {
        directory ?? store.dataDirectory + "/keys"
    }
}
