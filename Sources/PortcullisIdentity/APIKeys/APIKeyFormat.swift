import Crypto
import PortcullisCore

/// The shape of a Portcullis API key: `pcs_<id>_<secret>`.
///
/// The 12-character id (lowercase base32, 60 bits) is public: it finds the stored record and appears in listings
/// and logs. The 40-character secret (`[A-Za-z0-9]`, ~238 bits from the CSPRNG) is shown once and stored only as
/// the SHA-256 of the whole key. A slow password hash adds nothing for secrets of this entropy.
public enum APIKeyFormat {
    public static let prefix = "pcs_"
    public static let idLength = 12
    public static let secretLength = 40
    public static let totalLength = prefix.utf8.count + idLength + 1 + secretLength

    /// A new key and its public id.
    public static func generate() -> (id: String, key: String) {
        let id = SecureRandom.base32(idLength)
        return (id, "\(prefix)\(id)_\(SecureRandom.alphanumeric(secretLength))")
    }

    /// The id of a string that has the form of a key, or `nil`. Checks only the form, never the secret.
    public static func keyId(of candidate: some StringProtocol) -> String? {
        let bytes = candidate.utf8
        guard bytes.count == totalLength, candidate.hasPrefix(prefix) else { return nil }
        let idStart = bytes.index(bytes.startIndex, offsetBy: prefix.utf8.count)
        let idEnd = bytes.index(idStart, offsetBy: idLength)
        guard bytes[idEnd] == UInt8(ascii: "_") else { return nil }
        let id = bytes[idStart..<idEnd]
        let secret = bytes[bytes.index(after: idEnd)...]
        guard id.allSatisfy(isBase32), secret.allSatisfy(isAlphanumeric) else { return nil }
        return String(decoding: id, as: UTF8.self)
    }

    /// Whether a string could be a key id.
    public static func isKeyId(_ candidate: some StringProtocol) -> Bool {
        candidate.utf8.count == idLength && candidate.utf8.allSatisfy(isBase32)
    }

    /// The stored hash of a key.
    public static func hash(_ key: some StringProtocol) -> [UInt8] {
        Array(SHA256.hash(data: Array(key.utf8)))
    }

    private static func isBase32(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "2") && byte <= UInt8(ascii: "7"))
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }
}
