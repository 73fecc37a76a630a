/// A fixed-point number with four fractional digits, the value of Cedar's `decimal` extension type.
public struct DecimalValue: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The value multiplied by 10,000.
    public let scaled: Int64

    static let scale: Int64 = 10_000

    /// Parses `-?digits.digits` with one to four fractional digits; nil when malformed or out of range.
    public init?(parsing text: String) {
        let bytes = Array(text.utf8)
        guard let dot = bytes.firstIndex(of: UInt8(ascii: ".")) else { return nil }
        let negative = bytes.first == UInt8(ascii: "-")
        let integerDigits = bytes[(negative ? 1 : 0)..<dot]
        let fractionDigits = bytes[(dot + 1)...]
        guard !integerDigits.isEmpty, (1...4).contains(fractionDigits.count),
              integerDigits.allSatisfy(isASCIIDigit), fractionDigits.allSatisfy(isASCIIDigit) else { return nil }
        var integer: Int64 = 0
        for digit in integerDigits {
            let (shifted, overflowA) = integer.multipliedReportingOverflow(by: 10)
            let (next, overflowB) = shifted.addingReportingOverflow(Int64(digit - UInt8(ascii: "0")))
            guard !overflowA, !overflowB else { return nil }
            integer = next
        }
        var fraction: Int64 = 0
        for digit in fractionDigits { fraction = fraction * 10 + Int64(digit - UInt8(ascii: "0")) }
        for _ in fractionDigits.count..<4 { fraction *= 10 }
        let (whole, overflow) = integer.multipliedReportingOverflow(by: Self.scale)
        guard !overflow else { return nil }
        // Building the negative value directly keeps the most negative decimal representable.
        let (signedWhole, negOverflow) = negative ? Int64(0).subtractingReportingOverflow(whole) : (whole, false)
        let (total, sumOverflow) = negative
            ? signedWhole.subtractingReportingOverflow(fraction)
            : signedWhole.addingReportingOverflow(fraction)
        guard !negOverflow, !sumOverflow else { return nil }
        scaled = total
    }

    public static func < (lhs: DecimalValue, rhs: DecimalValue) -> Bool { lhs.scaled < rhs.scaled }

    public var description: String {
        let magnitude = scaled.magnitude
        let integer = magnitude / UInt64(Self.scale)
        var fraction = String(magnitude % UInt64(Self.scale))
        while fraction.count < 4 { fraction = "0" + fraction }
        return (scaled < 0 ? "-" : "") + "\(integer).\(fraction)"
    }
}

func isASCIIDigit(_ byte: UInt8) -> Bool {
    byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
}
