/// An error in a `.cedarschema` file: bad syntax, or a declaration that does not make sense.
public struct SchemaError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Stable identifiers for the kinds of schema errors.
    public enum Code: String, Sendable {
        case syntax
        case undeclaredType
        case undeclaredAction
        case duplicateDeclaration
        case cyclicTypeDefinition
        case invalidContext
        case reservedName
    }

    /// The kind of error.
    public let code: Code
    /// The file name given to the parser.
    public let fileName: String
    /// Where the problem was found.
    public let location: SourceLocation
    /// What went wrong.
    public let message: String

    public var description: String { "\(fileName):\(location.line):\(location.column): \(message)" }
}
