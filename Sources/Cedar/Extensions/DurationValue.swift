/// A signed span of time in milliseconds, the value of Cedar's `duration` extension type.
public struct DurationValue: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The length in milliseconds.
    public let milliseconds: Int64

    static let millisecondsPerDay: Int64 = 86_400_000

    /// Creates a duration from milliseconds.
    public init(milliseconds: Int64) {
        self.milliseconds = milliseconds
    }

    /// Parses text such as `1d2h3m4s5ms` or `-90m`; units must appear in that order, each at most once.
    public init?(parsing text: String) {
        let bytes = Array(text.utf8)
        var index = 0
        let negative = bytes.first == UInt8(ascii: "-")
        if negative { index = 1 }
        // Units ranked from largest to smallest; each must be strictly smaller than the previous one.
        let unitsInMilliseconds: [Int64] = [86_400_000, 3_600_000, 60_000, 1_000, 1]
        var lastRank = -1
        var total: Int64 = 0
        guard index < bytes.count else { return nil }
        while index < bytes.count {
            let start = index
            var amount: Int64 = 0
            while index < bytes.count, isASCIIDigit(bytes[index]) {
                let (shifted, overflowA) = amount.multipliedReportingOverflow(by: 10)
                let (next, overflowB) = shifted.addingReportingOverflow(Int64(bytes[index] - UInt8(ascii: "0")))
                guard !overflowA, !overflowB else { return nil }
                amount = next
                index += 1
            }
            guard index > start, index < bytes.count else { return nil }
            let rank: Int
            switch bytes[index] {
            case UInt8(ascii: "d"): rank = 0
            case UInt8(ascii: "h"): rank = 1
            case UInt8(ascii: "s"): rank = 3
            case UInt8(ascii: "m"):
                if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "s") {
                    rank = 4
                    index += 1
                } else {
                    rank = 2
                }
            default: return nil
            }
            index += 1
            guard rank > lastRank else { return nil }
            lastRank = rank
            let (part, overflowA) = amount.multipliedReportingOverflow(by: unitsInMilliseconds[rank])
            let (sum, overflowB) = total.addingReportingOverflow(part)
            guard !overflowA, !overflowB else { return nil }
            total = sum
        }
        milliseconds = negative ? -total : total
    }

    public static func < (lhs: DurationValue, rhs: DurationValue) -> Bool { lhs.milliseconds < rhs.milliseconds }

    public var description: String { "\(milliseconds)ms" }
}
