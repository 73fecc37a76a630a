import PortcullisCore

/// The shape of a SigV4 access key pair: an id `PCAK` + 16 uppercase base32 characters (20 in all, like AWS
/// access key ids, 80 random bits) and a 40-character secret (`[A-Za-z0-9]`, ~238 bits).
public enum AccessKeyFormat {
    public static let prefix = "PCAK"
    static let idRandomLength = 16
    static let secretLength = 40
    static let base32 = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    /// A new id and secret.
    public static func generate() -> (id: String, secret: String) {
        (prefix + SecureRandom.base32(idRandomLength).uppercased(), SecureRandom.alphanumeric(secretLength))
    }

    /// Whether `candidate` has the form of an access key id.
    public static func isKeyId(_ candidate: some StringProtocol) -> Bool {
        candidate.utf8.count == prefix.utf8.count + idRandomLength && candidate.hasPrefix(prefix)
            && candidate.utf8.dropFirst(prefix.utf8.count).allSatisfy(base32.contains)
    }
}
