/// Parses Cedar policy text into policies and templates.
struct PolicyParser {
    /// Deepest expression tree accepted; keeps evaluation and validation recursion bounded.
    static let maximumExpressionHeight = 160
    /// Deepest bracket nesting accepted; keeps this recursive-descent parser's stack bounded.
    static let maximumNesting = 64

    var tokens: TokenStream
    var nesting = 0

    init(text: String, fileName: String) throws(CedarParseError) {
        tokens = try TokenStream(text: text, fileName: fileName)
    }

    /// Parses every policy in the text, in order.
    mutating func parsePolicies() throws(CedarParseError) -> [ParsedPolicy] {
        var policies: [ParsedPolicy] = []
        while !tokens.isAtEnd {
            policies.append(try parsePolicy())
        }
        return policies
    }

    private mutating func parsePolicy() throws(CedarParseError) -> ParsedPolicy {
        let start = tokens.current.location
        var annotations: [String: String] = [:]
        while tokens.isSymbol(.at) {
            let annotationStart = tokens.current.location
            tokens.advance()
            let key = try tokens.expectIdentifier("an annotation name after '@'")
            var value = ""
            if tokens.consume(.leftParen) {
                value = try tokens.expectString("a string as the annotation's value")
                try tokens.expect(.rightParen, "after the annotation's value")
            }
            guard annotations.updateValue(value, forKey: key) == nil else {
                throw tokens.error(.duplicateAnnotation, "duplicate annotation '@\(key)'", at: annotationStart)
            }
        }
        let effect: Effect
        if tokens.consumeKeyword("permit") {
            effect = .permit
        } else if tokens.consumeKeyword("forbid") {
            effect = .forbid
        } else {
            throw tokens.unexpected("expected 'permit' or 'forbid'")
        }
        try tokens.expect(.leftParen, "after '\(effect.rawValue)'")
        try tokens.expectKeyword("principal", "as the first element of the policy scope")
        let principal = try parseScopeConstraint(slot: .principal)
        try tokens.expect(.comma, "after the principal constraint")
        try tokens.expectKeyword("action", "as the second element of the policy scope")
        let action = try parseActionConstraint()
        try tokens.expect(.comma, "after the action constraint")
        try tokens.expectKeyword("resource", "as the third element of the policy scope")
        let resource = try parseScopeConstraint(slot: .resource)
        try tokens.expect(.rightParen, "after the policy scope")
        var conditions: [Condition] = []
        while tokens.isKeyword("when") || tokens.isKeyword("unless") {
            let kind: Condition.Kind = tokens.isKeyword("when") ? .when : .unless
            tokens.advance()
            try tokens.expect(.leftBrace, "to open the '\(kind.rawValue)' clause")
            let body = try parseExpression()
            try tokens.expect(.rightBrace, "to close the '\(kind.rawValue)' clause")
            conditions.append(Condition(kind: kind, expression: body.expr))
        }
        let end = tokens.current.location
        try tokens.expect(.semicolon, "after the policy")
        return ParsedPolicy(
            effect: effect, annotations: annotations, principal: principal, action: action,
            resource: resource, conditions: conditions, location: start, endLocation: end
        )
    }

    private mutating func parseScopeConstraint(slot: SlotID) throws(CedarParseError) -> ScopeConstraint {
        if tokens.consume(.equal) {
            return .equal(try parseEntityReference(slot: slot))
        }
        if tokens.consumeKeyword("in") {
            return .memberOf(try parseEntityReference(slot: slot))
        }
        if tokens.consumeKeyword("is") {
            let type = EntityType(try tokens.expectPath("an entity type after 'is'"))
            if tokens.consumeKeyword("in") {
                return .isTypeMemberOf(type, try parseEntityReference(slot: slot))
            }
            return .isType(type)
        }
        return .any
    }

    private mutating func parseEntityReference(slot: SlotID) throws(CedarParseError) -> EntityReference {
        if tokens.isSymbol(.question) {
            let location = tokens.current.location
            tokens.advance()
            let name = try tokens.expectIdentifier("a slot name after '?'")
            guard "?" + name == slot.rawValue else {
                throw tokens.error(.invalidSlot, "the \(slot == .principal ? "principal" : "resource") constraint can only use the slot \(slot.rawValue), found '?\(name)'", at: location)
            }
            return .slot(slot)
        }
        return .uid(try parseEntityUID())
    }

    private mutating func parseActionConstraint() throws(CedarParseError) -> ActionConstraint {
        if tokens.consume(.equal) {
            return .equal(try parseEntityUID())
        }
        if tokens.consumeKeyword("in") {
            guard tokens.consume(.leftBracket) else { return .memberOf(try parseEntityUID()) }
            var uids: [EntityUID] = []
            while !tokens.isSymbol(.rightBracket) {
                uids.append(try parseEntityUID())
                guard tokens.consume(.comma) else { break }
            }
            try tokens.expect(.rightBracket, "to close the list of actions")
            return .memberOfAny(uids)
        }
        if tokens.isKeyword("is") {
            throw tokens.error(.invalidScope, "'is' cannot constrain the action; use '==' or 'in'")
        }
        return .any
    }

    /// Reads `Type::"id"`.
    mutating func parseEntityUID() throws(CedarParseError) -> EntityUID {
        var name = try tokens.expectIdentifier("an entity reference such as User::\"alice\"")
        while true {
            try tokens.expect(.doubleColon, "in the entity reference '\(name)'")
            if case .identifier(let part) = tokens.current.kind {
                name += "::" + part
                tokens.advance()
                continue
            }
            let id = try tokens.expectString("an entity id string after '\(name)::'")
            return EntityUID(type: EntityType(name), id: id)
        }
    }
}

/// A policy as written, before it is given an id.
struct ParsedPolicy {
    let effect: Effect
    let annotations: [String: String]
    let principal: ScopeConstraint
    let action: ActionConstraint
    let resource: ScopeConstraint
    let conditions: [Condition]
    let location: SourceLocation
    let endLocation: SourceLocation
}
