/// An expression with the height of its tree, so depth limits need no second pass.
struct ParsedExpr {
    let expr: Expr
    let height: Int
}

extension PolicyParser {
    private static let reservedIdentifiers: Set<String> = [
        "true", "false", "if", "then", "else", "in", "is", "like", "has", "__cedar",
    ]

    private func node(_ expr: Expr, _ children: ParsedExpr...) throws(CedarParseError) -> ParsedExpr {
        try node(expr, children: children)
    }

    private func node(_ expr: Expr, children: [ParsedExpr]) throws(CedarParseError) -> ParsedExpr {
        let height = (children.map(\.height).max() ?? 0) + 1
        guard height <= Self.maximumExpressionHeight else {
            throw tokens.error(.nestingTooDeep, "expression is nested more than \(Self.maximumExpressionHeight) levels deep; split it into simpler conditions")
        }
        return ParsedExpr(expr: expr, height: height)
    }

    mutating func parseExpression() throws(CedarParseError) -> ParsedExpr {
        nesting += 1
        defer { nesting -= 1 }
        guard nesting <= Self.maximumNesting else {
            throw tokens.error(.nestingTooDeep, "expression is nested more than \(Self.maximumNesting) levels deep; split it into simpler conditions")
        }
        if tokens.consumeKeyword("if") {
            let condition = try parseExpression()
            try tokens.expectKeyword("then", "after the 'if' condition")
            let then = try parseExpression()
            try tokens.expectKeyword("else", "after the 'then' branch")
            let otherwise = try parseExpression()
            return try node(.ifThenElse(condition.expr, then.expr, otherwise.expr), condition, then, otherwise)
        }
        return try parseOr()
    }

    private mutating func parseOr() throws(CedarParseError) -> ParsedExpr {
        var left = try parseAnd()
        while tokens.consume(.or) {
            let right = try parseAnd()
            left = try node(.or(left.expr, right.expr), left, right)
        }
        return left
    }

    private mutating func parseAnd() throws(CedarParseError) -> ParsedExpr {
        var left = try parseRelation()
        while tokens.consume(.and) {
            let right = try parseRelation()
            left = try node(.and(left.expr, right.expr), left, right)
        }
        return left
    }

    private mutating func parseRelation() throws(CedarParseError) -> ParsedExpr {
        let left = try parseAdd()
        let comparisons: [Token.Symbol] = [.equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual]
        if case .symbol(let symbol) = tokens.current.kind, comparisons.contains(symbol) {
            tokens.advance()
            let right = try parseAdd()
            let result: ParsedExpr
            switch symbol {
            case .equal: result = try node(.binary(.equal, left.expr, right.expr), left, right)
            case .notEqual:
                let equal = try node(.binary(.equal, left.expr, right.expr), left, right)
                result = try node(.not(equal.expr), equal)
            case .less: result = try node(.binary(.less, left.expr, right.expr), left, right)
            case .lessEqual: result = try node(.binary(.lessOrEqual, left.expr, right.expr), left, right)
            case .greater: result = try node(.binary(.less, right.expr, left.expr), left, right)
            default: result = try node(.binary(.lessOrEqual, right.expr, left.expr), left, right)
            }
            if case .symbol(let again) = tokens.current.kind, comparisons.contains(again) {
                throw tokens.error(.unexpectedToken, "comparisons cannot be chained; add parentheses or use '&&'")
            }
            return result
        }
        if tokens.consumeKeyword("in") {
            let right = try parseAdd()
            return try node(.binary(.memberOf, left.expr, right.expr), left, right)
        }
        if tokens.consumeKeyword("has") {
            return try parseHas(left)
        }
        if tokens.consumeKeyword("like") {
            guard case .string(let raw) = tokens.current.kind else {
                throw tokens.unexpected("expected a pattern string after 'like'")
            }
            guard let elements = unescapeCedarString(raw, allowStar: true) else {
                throw tokens.error(.invalidEscape, "invalid escape sequence in pattern \(tokens.current.quoted)")
            }
            tokens.advance()
            return try node(.like(left.expr, Pattern(elements: elements)), left)
        }
        if tokens.consumeKeyword("is") {
            let type = EntityType(try tokens.expectPath("an entity type after 'is'"))
            let test = try node(.isType(left.expr, type), left)
            if tokens.consumeKeyword("in") {
                let target = try parseAdd()
                let membership = try node(.binary(.memberOf, left.expr, target.expr), left, target)
                return try node(.and(test.expr, membership.expr), test, membership)
            }
            return test
        }
        return left
    }

    /// `e has a.b.c` means `e has a && e.a has b && e.a.b has c`.
    private mutating func parseHas(_ subject: ParsedExpr) throws(CedarParseError) -> ParsedExpr {
        var attributes: [String] = []
        if case .string = tokens.current.kind {
            attributes.append(try tokens.expectString("an attribute name after 'has'"))
        } else {
            attributes.append(try tokens.expectIdentifier("an attribute name after 'has'"))
            while tokens.consume(.dot) {
                attributes.append(try tokens.expectIdentifier("an attribute name after '.'"))
            }
        }
        var result = try node(.hasAttribute(subject.expr, attributes[0]), subject)
        var path = subject
        for index in 1..<attributes.count {
            path = try node(.getAttribute(path.expr, attributes[index - 1]), path)
            let test = try node(.hasAttribute(path.expr, attributes[index]), path)
            result = try node(.and(result.expr, test.expr), result, test)
        }
        return result
    }

    private mutating func parseAdd() throws(CedarParseError) -> ParsedExpr {
        var left = try parseMultiply()
        while tokens.isSymbol(.plus) || tokens.isSymbol(.minus) {
            let op: BinaryOperator = tokens.isSymbol(.plus) ? .add : .subtract
            tokens.advance()
            let right = try parseMultiply()
            left = try node(.binary(op, left.expr, right.expr), left, right)
        }
        return left
    }

    private mutating func parseMultiply() throws(CedarParseError) -> ParsedExpr {
        var left = try parseUnary()
        while tokens.consume(.star) {
            let right = try parseUnary()
            left = try node(.binary(.multiply, left.expr, right.expr), left, right)
        }
        return left
    }

    private mutating func parseUnary() throws(CedarParseError) -> ParsedExpr {
        var operators: [Token.Symbol] = []
        while tokens.isSymbol(.bang) || tokens.isSymbol(.minus) {
            guard operators.count < 4 else {
                throw tokens.error(.unexpectedToken, "too many unary operators in a row; at most four are allowed")
            }
            if case .symbol(let symbol) = tokens.current.kind { operators.append(symbol) }
            tokens.advance()
        }
        var operand: ParsedExpr
        // A minus directly before an integer literal makes a negative literal, so that
        // -9223372036854775808 is representable.
        if operators.last == .minus, case .integer(let digits) = tokens.current.kind, !isAccessAhead() {
            let location = tokens.current.location
            tokens.advance()
            guard let magnitude = UInt64(digits), magnitude <= UInt64(Int64.max) + 1 else {
                throw tokens.error(.integerOutOfRange, "integer literal -\(digits) is out of range", at: location)
            }
            operand = ParsedExpr(expr: .literal(.long(magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude))), height: 1)
            operators.removeLast()
        } else {
            operand = try parseMember()
        }
        for symbol in operators.reversed() {
            operand = try node(symbol == .bang ? .not(operand.expr) : .negate(operand.expr), operand)
        }
        return operand
    }

    /// Whether the token after the current one starts a member access, which binds tighter than minus.
    private func isAccessAhead() -> Bool {
        tokens.next.kind == .symbol(.dot) || tokens.next.kind == .symbol(.leftBracket)
    }

    private mutating func parseMember() throws(CedarParseError) -> ParsedExpr {
        var subject = try parsePrimary()
        while true {
            if tokens.consume(.dot) {
                let nameLocation = tokens.current.location
                let name = try tokens.expectIdentifier("an attribute or method name after '.'")
                if tokens.isSymbol(.leftParen) {
                    subject = try parseMethodCall(on: subject, name: name, at: nameLocation)
                } else {
                    subject = try node(.getAttribute(subject.expr, name), subject)
                }
            } else if tokens.consume(.leftBracket) {
                let name = try tokens.expectString("an attribute name string inside '[ ]'")
                try tokens.expect(.rightBracket, "after the attribute name")
                subject = try node(.getAttribute(subject.expr, name), subject)
            } else {
                return subject
            }
        }
    }

    private mutating func parseArguments() throws(CedarParseError) -> [ParsedExpr] {
        try tokens.expect(.leftParen, "to start the argument list")
        var arguments: [ParsedExpr] = []
        while !tokens.isSymbol(.rightParen) {
            arguments.append(try parseExpression())
            guard tokens.consume(.comma) else { break }
        }
        try tokens.expect(.rightParen, "to close the argument list")
        return arguments
    }

    private mutating func parseMethodCall(on subject: ParsedExpr, name: String, at location: SourceLocation) throws(CedarParseError) -> ParsedExpr {
        let arguments = try parseArguments()
        func requireArguments(_ count: Int) throws(CedarParseError) {
            guard arguments.count == count else {
                throw tokens.error(.wrongArity, "method '\(name)' takes \(count) argument\(count == 1 ? "" : "s"), found \(arguments.count)", at: location)
            }
        }
        let binaryMethods: [String: BinaryOperator] = [
            "contains": .contains, "containsAll": .containsAll, "containsAny": .containsAny,
            "getTag": .getTag, "hasTag": .hasTag,
        ]
        if let op = binaryMethods[name] {
            try requireArguments(1)
            return try node(.binary(op, subject.expr, arguments[0].expr), subject, arguments[0])
        }
        if name == "isEmpty" {
            try requireArguments(0)
            return try node(.isEmpty(subject.expr), subject)
        }
        guard let function = ExtensionFunction(rawValue: name), !function.isConstructor else {
            throw tokens.error(.unknownFunction, "unknown method '\(name)'", at: location)
        }
        return try node(.call(function, [subject.expr] + arguments.map(\.expr)), children: [subject] + arguments)
    }

    private mutating func parsePrimary() throws(CedarParseError) -> ParsedExpr {
        let token = tokens.current
        switch token.kind {
        case .integer(let digits):
            tokens.advance()
            guard let value = Int64(digits) else {
                throw tokens.error(.integerOutOfRange, "integer literal \(digits) is out of range", at: token.location)
            }
            return ParsedExpr(expr: .literal(.long(value)), height: 1)
        case .string:
            return ParsedExpr(expr: .literal(.string(try tokens.expectString("a string"))), height: 1)
        case .symbol(.leftParen):
            tokens.advance()
            let inner = try parseExpression()
            try tokens.expect(.rightParen, "to close the parenthesis")
            return inner
        case .symbol(.leftBracket):
            tokens.advance()
            var elements: [ParsedExpr] = []
            while !tokens.isSymbol(.rightBracket) {
                elements.append(try parseExpression())
                guard tokens.consume(.comma) else { break }
            }
            try tokens.expect(.rightBracket, "to close the set")
            return try node(.set(elements.map(\.expr)), children: elements)
        case .symbol(.leftBrace):
            return try parseRecord()
        case .symbol(.question):
            throw tokens.error(.invalidSlot, "template slots can only appear in the policy scope")
        case .identifier(let name):
            return try parseNamedPrimary(name, at: token.location)
        default:
            throw tokens.unexpected("expected an expression")
        }
    }

    private mutating func parseRecord() throws(CedarParseError) -> ParsedExpr {
        tokens.advance()
        var fields: [RecordField] = []
        var children: [ParsedExpr] = []
        var seen: Set<String> = []
        while !tokens.isSymbol(.rightBrace) {
            let keyLocation = tokens.current.location
            let key: String
            if case .string = tokens.current.kind {
                key = try tokens.expectString("a record key")
            } else {
                key = try tokens.expectIdentifier("a record key")
                guard !Self.reservedIdentifiers.contains(key) else {
                    throw tokens.error(.reservedIdentifier, "'\(key)' is reserved; quote it to use it as a record key", at: keyLocation)
                }
            }
            guard seen.insert(key).inserted else {
                throw tokens.error(.duplicateKey, "duplicate key '\(key)' in record literal", at: keyLocation)
            }
            try tokens.expect(.colon, "after the record key")
            let value = try parseExpression()
            fields.append(RecordField(key: key, value: value.expr))
            children.append(value)
            guard tokens.consume(.comma) else { break }
        }
        try tokens.expect(.rightBrace, "to close the record")
        return try node(.record(fields), children: children)
    }

    private mutating func parseNamedPrimary(_ name: String, at location: SourceLocation) throws(CedarParseError) -> ParsedExpr {
        switch name {
        case "true", "false":
            tokens.advance()
            return ParsedExpr(expr: .literal(.bool(name == "true")), height: 1)
        default:
            break
        }
        if let variable = Variable(rawValue: name), !tokens.next.kind.isDoubleColon {
            tokens.advance()
            return ParsedExpr(expr: .variable(variable), height: 1)
        }
        if tokens.next.kind.isDoubleColon {
            return ParsedExpr(expr: .literal(.entity(try parseEntityUID())), height: 1)
        }
        if tokens.next.kind == .symbol(.leftParen) {
            tokens.advance()
            guard let function = ExtensionFunction(rawValue: name), function.isConstructor else {
                throw tokens.error(.unknownFunction, "unknown function '\(name)'", at: location)
            }
            let arguments = try parseArguments()
            return try node(.call(function, arguments.map(\.expr)), children: arguments)
        }
        if Self.reservedIdentifiers.contains(name) {
            throw tokens.error(.reservedIdentifier, "unexpected '\(name)' here")
        }
        throw tokens.error(.unexpectedToken, "unknown variable '\(name)'; expected principal, action, resource or context")
    }
}

private extension Token.Kind {
    var isDoubleColon: Bool { self == .symbol(.doubleColon) }
}
