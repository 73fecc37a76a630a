/// A cursor over tokens with the error helpers both parsers share.
struct TokenStream {
    private let tokens: [Token]
    let fileName: String
    private(set) var position = 0

    init(text: String, fileName: String) throws(CedarParseError) {
        self.tokens = try Lexer.tokenize(text, fileName: fileName)
        self.fileName = fileName
    }

    var current: Token { tokens[position] }
    var next: Token { tokens[min(position + 1, tokens.count - 1)] }
    var isAtEnd: Bool { current.kind == .end }

    mutating func advance() {
        if position < tokens.count - 1 { position += 1 }
    }

    func isSymbol(_ symbol: Token.Symbol) -> Bool { current.kind == .symbol(symbol) }

    func isKeyword(_ word: String) -> Bool { current.kind == .identifier(word) }

    /// Consumes `symbol` if it is next.
    mutating func consume(_ symbol: Token.Symbol) -> Bool {
        guard isSymbol(symbol) else { return false }
        advance()
        return true
    }

    /// Consumes the identifier `word` if it is next.
    mutating func consumeKeyword(_ word: String) -> Bool {
        guard isKeyword(word) else { return false }
        advance()
        return true
    }

    mutating func expect(_ symbol: Token.Symbol, _ context: String) throws(CedarParseError) {
        guard consume(symbol) else { throw unexpected("expected '\(symbol.rawValue)' \(context)") }
    }

    mutating func expectKeyword(_ word: String, _ context: String) throws(CedarParseError) {
        guard consumeKeyword(word) else { throw unexpected("expected '\(word)' \(context)") }
    }

    mutating func expectIdentifier(_ what: String) throws(CedarParseError) -> String {
        guard case .identifier(let name) = current.kind else { throw unexpected("expected \(what)") }
        advance()
        return name
    }

    /// Reads a string literal and decodes its escapes.
    mutating func expectString(_ what: String) throws(CedarParseError) -> String {
        guard case .string(let raw) = current.kind else { throw unexpected("expected \(what)") }
        guard let decoded = unescapeCedarPlainString(raw) else {
            throw error(.invalidEscape, "invalid escape sequence in string literal \(current.quoted)")
        }
        advance()
        return decoded
    }

    /// Reads `A::B::C` and returns the joined name.
    mutating func expectPath(_ what: String) throws(CedarParseError) -> String {
        var name = try expectIdentifier(what)
        while isSymbol(.doubleColon), case .identifier(let part) = next.kind {
            advance()
            advance()
            name += "::" + part
        }
        return name
    }

    func error(_ code: CedarParseError.Code, _ message: String, at location: SourceLocation? = nil) -> CedarParseError {
        CedarParseError(code: code, fileName: fileName, location: location ?? current.location, message: message)
    }

    /// An "expected X, found Y" error at the current token.
    func unexpected(_ expectation: String) -> CedarParseError {
        error(.unexpectedToken, "\(expectation), found \(current.quoted)")
    }
}
