/// Comparisons whose running time does not depend on where two secrets first differ.
public enum ConstantTime {
    /// `true` when both byte sequences are equal. The time depends only on the lengths, never on the contents.
    public static func equals(_ lhs: some Collection<UInt8>, _ rhs: some Collection<UInt8>) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for (left, right) in zip(lhs, rhs) {
            difference |= left ^ right
        }
        return difference == 0
    }
}
