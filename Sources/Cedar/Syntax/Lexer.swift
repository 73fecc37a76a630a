/// Splits Cedar text into tokens; shared by the policy and schema parsers.
struct Lexer {
    private let scalars: [Unicode.Scalar]
    private let fileName: String
    private var index = 0
    private var line = 1
    private var column = 1

    init(text: String, fileName: String) {
        self.scalars = Array(text.unicodeScalars)
        self.fileName = fileName
    }

    /// Tokenizes the whole text; the last token is always `.end`.
    static func tokenize(_ text: String, fileName: String) throws(CedarParseError) -> [Token] {
        var lexer = Lexer(text: text, fileName: fileName)
        var tokens: [Token] = []
        while true {
            let token = try lexer.next()
            tokens.append(token)
            if token.kind == .end { return tokens }
        }
    }

    private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        index + offset < scalars.count ? scalars[index + offset] : nil
    }

    private mutating func advance() {
        if scalars[index] == "\n" {
            line += 1
            column = 1
        } else {
            column += 1
        }
        index += 1
    }

    private mutating func skipTrivia() {
        while let scalar = peek() {
            if scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r" {
                advance()
            } else if scalar == "/", peek(1) == "/" {
                while let next = peek(), next != "\n" { advance() }
            } else {
                return
            }
        }
    }

    private mutating func next() throws(CedarParseError) -> Token {
        skipTrivia()
        let location = SourceLocation(line: line, column: column)
        guard let scalar = peek() else { return Token(kind: .end, location: location) }
        if isIdentifierStart(scalar) {
            var name = String.UnicodeScalarView()
            while let next = peek(), isIdentifierStart(next) || isDigit(next) {
                name.append(next)
                advance()
            }
            return Token(kind: .identifier(String(name)), location: location)
        }
        if isDigit(scalar) {
            var digits = String.UnicodeScalarView()
            while let next = peek(), isDigit(next) {
                digits.append(next)
                advance()
            }
            return Token(kind: .integer(String(digits)), location: location)
        }
        if scalar == "\"" {
            return Token(kind: .string(try lexString(start: location)), location: location)
        }
        let twoCharacter: [String: Token.Symbol] = [
            "::": .doubleColon, "==": .equal, "!=": .notEqual, "<=": .lessEqual, ">=": .greaterEqual,
            "&&": .and, "||": .or,
        ]
        if let second = peek(1), let symbol = twoCharacter[String(scalar) + String(second)] {
            advance()
            advance()
            return Token(kind: .symbol(symbol), location: location)
        }
        if let symbol = Token.Symbol(rawValue: String(scalar)) {
            advance()
            return Token(kind: .symbol(symbol), location: location)
        }
        throw CedarParseError(
            code: .invalidCharacter, fileName: fileName, location: location,
            message: "unexpected character '\(scalar.escaped(asASCII: true))'"
        )
    }

    private mutating func lexString(start: SourceLocation) throws(CedarParseError) -> String {
        advance()
        var body = String.UnicodeScalarView()
        while let scalar = peek() {
            if scalar == "\"" {
                advance()
                return String(body)
            }
            if scalar == "\\", let escaped = peek(1) {
                body.append(scalar)
                advance()
                body.append(escaped)
                advance()
                continue
            }
            body.append(scalar)
            advance()
        }
        throw CedarParseError(
            code: .unterminatedString, fileName: fileName, location: start,
            message: "string literal is missing its closing '\"'"
        )
    }

    private func isIdentifierStart(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "_" || ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
    }

    private func isDigit(_ scalar: Unicode.Scalar) -> Bool { ("0"..."9").contains(scalar) }
}
