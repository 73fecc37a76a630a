/// The formats of agent-runtime names and ids (`<name>-<10 alphanumerics>`), checked by hand so the hot path
/// never compiles a regular expression.
public enum AgentRuntimeIdentifier {
    /// `[a-zA-Z][a-zA-Z0-9_]{0,47}`: runtime and endpoint names.
    public static func isValidName(_ name: Substring) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 48, isLetter(first) else { return false }
        return name.utf8.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") }
    }

    /// `[a-zA-Z][a-zA-Z0-9_]{0,99}-[a-zA-Z0-9]{10}`: runtime ids.
    public static func isValidRuntimeId(_ id: Substring) -> Bool {
        guard let dash = id.lastIndex(of: "-") else { return false }
        let name = id[id.startIndex..<dash]
        let suffix = id[id.index(after: dash)...]
        guard let first = name.utf8.first, isLetter(first), name.utf8.count <= 100 else { return false }
        guard name.utf8.allSatisfy({ isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") }) else { return false }
        return suffix.utf8.count == 10 && suffix.utf8.allSatisfy { isLetter($0) || isDigit($0) }
    }

    /// The runtime name a runtime id was made from (the part before its last dash).
    public static func name(ofRuntimeId id: String) -> Substring {
        id.lastIndex(of: "-").map { id[..<$0] } ?? id[...]
    }

    /// A fresh runtime id for `name`.
    public static func makeRuntimeId(name: String) -> String {
        "\(name)-\(SecureRandom.alphanumeric(10))"
    }

    public static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }

    public static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }
}
