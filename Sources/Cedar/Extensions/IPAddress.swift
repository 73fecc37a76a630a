/// An IPv4 or IPv6 address with a prefix length, the value of Cedar's `ipaddr` extension type.
///
/// The address is kept as written (`10.0.0.1/24` is not truncated to `10.0.0.0/24`), so two
/// values are equal only when both the address and the prefix length match.
public struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// Whether this is an IPv4 address.
    public let isIPv4: Bool
    /// The address bits; an IPv4 address uses the low 32 bits.
    let bits: UInt128
    /// The prefix length, 32 or 128 when the text had no `/`.
    public let prefixLength: Int

    /// Parses `a.b.c.d[/n]` or an IPv6 address `x:x::x[/n]`, returning nil when malformed.
    ///
    /// Like Cedar, this rejects octets and prefixes with leading zeros and IPv4 embedded in IPv6.
    public init?(parsing text: String) {
        let bytes = Array(text.utf8)
        let slash = bytes.firstIndex(of: UInt8(ascii: "/"))
        let addressBytes = bytes[..<(slash ?? bytes.endIndex)]
        let hasColon = addressBytes.contains(UInt8(ascii: ":"))
        if hasColon && addressBytes.contains(UInt8(ascii: ".")) { return nil }
        let width: Int
        if hasColon {
            guard let value = Self.parseIPv6(addressBytes) else { return nil }
            bits = value
            isIPv4 = false
            width = 128
        } else {
            guard let value = Self.parseIPv4(addressBytes) else { return nil }
            bits = UInt128(value)
            isIPv4 = true
            width = 32
        }
        if let slash {
            guard let prefix = Self.parseDecimal(bytes[(slash + 1)...], maxDigits: 3), prefix <= width else { return nil }
            prefixLength = prefix
        } else {
            prefixLength = width
        }
    }

    private var width: Int { isIPv4 ? 32 : 128 }

    private var hostMask: UInt128 {
        let hostBits = width - prefixLength
        return hostBits == 0 ? 0 : (UInt128.max >> (128 - hostBits))
    }

    /// The first address of the range (host bits cleared).
    var network: UInt128 { bits & ~hostMask }

    /// The last address of the range (host bits set).
    var broadcast: UInt128 { network | hostMask }

    /// Whether the network address is a loopback address (`127.0.0.0/8` or `::1`).
    public var isLoopback: Bool {
        isIPv4 ? (network >> 24) == 127 : network == 1
    }

    /// Whether the whole range is multicast (`224.0.0.0/4` or `ff00::/8`).
    public var isMulticast: Bool {
        if isIPv4 {
            return (network >> 28) == 0xE && prefixLength >= 4
        }
        return (network >> 120) == 0xFF && prefixLength >= 8
    }

    /// Whether every address of this range lies inside `other`'s range.
    public func isInRange(_ other: IPAddress) -> Bool {
        guard isIPv4 == other.isIPv4 else { return false }
        return other.network <= network && broadcast <= other.broadcast
    }

    public var description: String {
        let address: String
        if isIPv4 {
            address = (0..<4).map { String((bits >> (8 * (3 - $0))) & 0xFF) }.joined(separator: ".")
        } else {
            address = (0..<8).map { String((bits >> (16 * (7 - $0))) & 0xFFFF, radix: 16) }.joined(separator: ":")
        }
        return prefixLength == width ? address : "\(address)/\(prefixLength)"
    }

    private static func parseDecimal(_ digits: ArraySlice<UInt8>, maxDigits: Int) -> Int? {
        guard !digits.isEmpty, digits.count <= maxDigits,
              digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        if digits.count > 1 && digits.first == UInt8(ascii: "0") { return nil }
        return digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
    }

    private static func parseIPv4(_ bytes: ArraySlice<UInt8>) -> UInt32? {
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard let octet = parseDecimal(part, maxDigits: 3), octet <= 255 else { return nil }
            value = value << 8 | UInt32(octet)
        }
        return value
    }

    private static func parseGroups(_ bytes: ArraySlice<UInt8>) -> [UInt16]? {
        if bytes.isEmpty { return [] }
        var groups: [UInt16] = []
        for part in bytes.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false) {
            guard !part.isEmpty, part.count <= 4 else { return nil }
            var group: UInt16 = 0
            for byte in part {
                guard let digit = hexDigit(byte) else { return nil }
                group = group << 4 | UInt16(digit)
            }
            groups.append(group)
        }
        return groups
    }

    private static func parseIPv6(_ bytes: ArraySlice<UInt8>) -> UInt128? {
        var groups: [UInt16]
        if let gap = findDoubleColon(bytes) {
            guard let head = parseGroups(bytes[..<gap]), let tail = parseGroups(bytes[(gap + 2)...]),
                  findDoubleColon(bytes[(gap + 2)...]) == nil,
                  head.count + tail.count < 8 else { return nil }
            groups = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        } else {
            guard let all = parseGroups(bytes), all.count == 8 else { return nil }
            groups = all
        }
        return groups.reduce(UInt128(0)) { $0 << 16 | UInt128($1) }
    }

    private static func findDoubleColon(_ bytes: ArraySlice<UInt8>) -> Int? {
        var index = bytes.startIndex
        while index + 1 < bytes.endIndex {
            if bytes[index] == UInt8(ascii: ":") && bytes[index + 1] == UInt8(ascii: ":") { return index }
            index += 1
        }
        return nil
    }

    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
