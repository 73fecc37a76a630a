/// Identifiers and secrets drawn from the system CSPRNG.
///
/// `SystemRandomNumberGenerator` reads `getrandom(2)` on Linux, so every value here is cryptographically random.
public enum SecureRandom {
    static let alphanumerics = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
    static let lowercaseBase32 = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)

    /// `count` random bytes.
    public static func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var result = [UInt8](repeating: 0, count: count)
        var index = 0
        while index < count {
            var word = generator.next()
            for _ in 0..<min(8, count - index) {
                result[index] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                index += 1
            }
        }
        return result
    }

    /// A string of `length` characters from `[A-Za-z0-9]`, drawn without modulo bias.
    public static func alphanumeric(_ length: Int) -> String {
        string(length, alphabet: alphanumerics)
    }

    /// A string of `length` characters from the lowercase RFC 4648 base32 alphabet (5 bits each).
    public static func base32(_ length: Int) -> String {
        string(length, alphabet: lowercaseBase32)
    }

    /// A random (version 4) UUID in its lowercase 36-character form.
    public static func uuid() -> String {
        var bytes = bytes(16)
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = Hex.encode(bytes)
        let characters = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(characters[$0]) }.joined(separator: "-")
    }

    private static func string(_ length: Int, alphabet: [UInt8]) -> String {
        var generator = SystemRandomNumberGenerator()
        var result = [UInt8]()
        result.reserveCapacity(length)
        for _ in 0..<length {
            // `random(in:using:)` rejects out-of-range draws, so every symbol is equally likely.
            result.append(alphabet[Int.random(in: 0..<alphabet.count, using: &generator)])
        }
        return String(decoding: result, as: UTF8.self)
    }
}
