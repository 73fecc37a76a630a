/// The URL-safe base64 alphabet without padding (RFC 4648 §5), as JOSE, PKCE and opaque tokens use it.
///
/// Decoding is strict: only the 64 URL-safe symbols, no padding, no whitespace, and the unused low bits of the last
/// symbol must be zero, so every byte string has exactly one accepted encoding. A token whose signature or payload
/// was re-encoded differently is therefore a different token.
public enum Base64URL {
    private static let symbols = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Symbol value for each byte, or 0xFF for bytes outside the alphabet.
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, symbol) in symbols.enumerated() {
            table[Int(symbol)] = UInt8(index)
        }
        return table
    }()

    /// The unpadded encoding of `bytes`.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        var output = [UInt8]()
        output.reserveCapacity((bytes.count * 4 + 2) / 3)
        var iterator = bytes.makeIterator()
        while let first = iterator.next() {
            let second = iterator.next()
            let third = iterator.next()
            output.append(symbols[Int(first >> 2)])
            output.append(symbols[Int((first & 0x03) << 4 | (second ?? 0) >> 4)])
            if let second {
                output.append(symbols[Int((second & 0x0F) << 2 | (third ?? 0) >> 6)])
            }
            if let third {
                output.append(symbols[Int(third & 0x3F)])
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The bytes `text` encodes, or `nil` when it is not canonical unpadded base64url.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        if let decoded = text.utf8.withContiguousStorageIfAvailable({ decode(bytes: $0) }) {
            return decoded
        }
        return Array(text.utf8).withUnsafeBufferPointer { decode(bytes: $0) }
    }

    /// The bytes the base64url symbols in `bytes` encode, or `nil` when they are not canonical unpadded base64url.
    public static func decode(bytes: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        let count = bytes.count
        // A lone symbol in the last group carries only 6 bits: no byte string encodes to it.
        guard count % 4 != 1 else { return nil }
        var output = [UInt8]()
        output.reserveCapacity(count * 3 / 4)
        var index = 0
        while index + 4 <= count {
            let a = values[Int(bytes[index])], b = values[Int(bytes[index + 1])]
            let c = values[Int(bytes[index + 2])], d = values[Int(bytes[index + 3])]
            guard (a | b | c | d) & 0xC0 == 0 else { return nil }
            output.append(a << 2 | b >> 4)
            output.append(b << 4 | c >> 2)
            output.append(c << 6 | d)
            index += 4
        }
        let remaining = count - index
        if remaining >= 2 {
            let a = values[Int(bytes[index])], b = values[Int(bytes[index + 1])]
            guard (a | b) & 0xC0 == 0 else { return nil }
            output.append(a << 2 | b >> 4)
            if remaining == 3 {
                let c = values[Int(bytes[index + 2])]
                guard c & 0xC0 == 0, c & 0x03 == 0 else { return nil }
                output.append(b << 4 | c >> 2)
            } else {
                guard b & 0x0F == 0 else { return nil }
            }
        }
        return output
    }
}
