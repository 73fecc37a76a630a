/// Percent-decoding of one raw URL path segment or query component, strict about malformed escapes.
///
/// The gateway routes on the raw path (an ARN arrives as `arn%3Aaws%3A…%2F…` in one segment), so it decodes
/// segments itself instead of trusting a router to split on decoded slashes.
public enum PercentEncoding {
    /// The decoded UTF-8 text, or `nil` when an escape is malformed or the bytes are not UTF-8.
    /// - Parameter plusAsSpace: decode `+` as a space, as form-encoded query strings do.
    public static func decode(_ raw: Substring, plusAsSpace: Bool = false) -> String? {
        guard raw.utf8.contains(where: { $0 == UInt8(ascii: "%") || (plusAsSpace && $0 == UInt8(ascii: "+")) }) else {
            return String(raw)
        }
        var bytes = [UInt8]()
        bytes.reserveCapacity(raw.utf8.count)
        var iterator = raw.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    return nil
                }
                bytes.append(high << 4 | low)
            case UInt8(ascii: "+") where plusAsSpace:
                bytes.append(UInt8(ascii: " "))
            default:
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// Encodes everything but RFC 3986 unreserved characters, so the result is one path segment.
    public static func encodeSegment(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if isUnreserved(byte) {
                result.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                result += "%"
                result += hexDigits[Int(byte >> 4)]
                result += hexDigits[Int(byte & 0x0F)]
            }
        }
        return result
    }

    /// An `application/x-www-form-urlencoded` body or query: each name and value percent-encoded like a segment.
    public static func encodeForm(_ pairs: [(String, String)]) -> String {
        pairs.map { encodeSegment($0.0) + "=" + encodeSegment($0.1) }.joined(separator: "&")
    }

    private static let hexDigits = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "A", "B", "C", "D", "E", "F"]

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
