/// One lexical token of Cedar policy or schema text.
struct Token: Sendable {
    enum Kind: Equatable, Sendable {
        case identifier(String)
        /// A string literal's raw body, escapes still unprocessed (patterns treat `\*` specially).
        case string(String)
        /// An integer literal's digits; range checking happens where the sign is known.
        case integer(String)
        case symbol(Symbol)
        case end
    }

    enum Symbol: String, Sendable {
        case leftParen = "(", rightParen = ")", leftBrace = "{", rightBrace = "}"
        case leftBracket = "[", rightBracket = "]", comma = ",", semicolon = ";"
        case colon = ":", doubleColon = "::", dot = ".", question = "?", at = "@"
        case equal = "==", notEqual = "!=", less = "<", lessEqual = "<=", greater = ">", greaterEqual = ">="
        case and = "&&", or = "||", bang = "!", minus = "-", plus = "+", star = "*", assign = "="
    }

    let kind: Kind
    let location: SourceLocation

    /// The token as a person would quote it in a message.
    var quoted: String {
        switch kind {
        case .identifier(let name): return "'\(name)'"
        case .string(let body): return "\"\(body)\""
        case .integer(let digits): return "'\(digits)'"
        case .symbol(let symbol): return "'\(symbol.rawValue)'"
        case .end: return "end of input"
        }
    }
}
