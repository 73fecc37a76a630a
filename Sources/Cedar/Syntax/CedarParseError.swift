/// A syntax error in Cedar policy or schema text, with the place it was found.
public struct CedarParseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Stable identifiers for the kinds of syntax errors.
    public enum Code: String, Sendable {
        case invalidCharacter
        case unterminatedString
        case invalidEscape
        case unexpectedToken
        case integerOutOfRange
        case reservedIdentifier
        case unknownFunction
        case wrongArity
        case duplicateKey
        case duplicateAnnotation
        case invalidSlot
        case invalidScope
        case nestingTooDeep
        case duplicatePolicyID
    }

    /// The kind of error.
    public let code: Code
    /// The file name given to the parser, used as the message prefix.
    public let fileName: String
    /// Where the error was found.
    public let location: SourceLocation
    /// What went wrong, phrased so a person can fix it.
    public let message: String

    /// The line of the error, from 1.
    public var line: Int { location.line }
    /// The column of the error, from 1.
    public var column: Int { location.column }

    public var description: String { "\(fileName):\(location.line):\(location.column): \(message)" }
}
