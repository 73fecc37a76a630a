/// Reads the human `.cedarschema` format into declarations; `SchemaBuilder` resolves their names.
struct SchemaParser {
    indirect enum TypeExpression {
        case name(String, SourceLocation)
        case set(TypeExpression)
        case record([AttributeDeclaration])
    }

    struct AttributeDeclaration {
        let name: String
        let isRequired: Bool
        let type: TypeExpression
    }

    struct Name {
        let text: String
        let location: SourceLocation
    }

    struct EntityDeclaration {
        let names: [Name]
        let namespace: String
        let memberOf: [Name]
        let shape: TypeExpression?
        let tags: TypeExpression?
        let enumIDs: [String]?
    }

    struct ActionReference {
        /// The written type path (`Action`, `NS::Action`), or nil for a bare name.
        let typePath: String?
        let id: String
        let location: SourceLocation
    }

    struct ActionDeclaration {
        let names: [Name]
        let namespace: String
        let memberOf: [ActionReference]
        let principals: [Name]
        let resources: [Name]
        let context: TypeExpression?
    }

    struct CommonTypeDeclaration {
        let name: Name
        let namespace: String
        let type: TypeExpression
    }

    private var tokens: TokenStream
    private(set) var entities: [EntityDeclaration] = []
    private(set) var actions: [ActionDeclaration] = []
    private(set) var commonTypes: [CommonTypeDeclaration] = []

    init(text: String, fileName: String) throws(CedarParseError) {
        tokens = try TokenStream(text: text, fileName: fileName)
        while !tokens.isAtEnd {
            try skipAnnotations()
            if tokens.consumeKeyword("namespace") {
                let namespace = try tokens.expectPath("a namespace name")
                try tokens.expect(.leftBrace, "to open the namespace")
                while !tokens.isSymbol(.rightBrace) {
                    try parseDeclaration(namespace: namespace)
                }
                try tokens.expect(.rightBrace, "to close the namespace")
            } else {
                try parseDeclaration(namespace: "")
            }
        }
    }

    /// Annotations document schemas but do not change their meaning.
    private mutating func skipAnnotations() throws(CedarParseError) {
        while tokens.consume(.at) {
            _ = try tokens.expectIdentifier("an annotation name after '@'")
            if tokens.consume(.leftParen) {
                _ = try tokens.expectString("a string as the annotation's value")
                try tokens.expect(.rightParen, "after the annotation's value")
            }
        }
    }

    private mutating func parseDeclaration(namespace: String) throws(CedarParseError) {
        try skipAnnotations()
        if tokens.consumeKeyword("entity") {
            try parseEntity(namespace: namespace)
        } else if tokens.consumeKeyword("action") {
            try parseAction(namespace: namespace)
        } else if tokens.consumeKeyword("type") {
            let location = tokens.current.location
            let name = try tokens.expectIdentifier("a type name after 'type'")
            try tokens.expect(.assign, "after the type name")
            let type = try parseType()
            try tokens.expect(.semicolon, "after the type declaration")
            commonTypes.append(CommonTypeDeclaration(name: Name(text: name, location: location), namespace: namespace, type: type))
        } else {
            throw tokens.unexpected("expected 'entity', 'action', 'type' or 'namespace'")
        }
    }

    private mutating func parseIdentifierList(_ what: String) throws(CedarParseError) -> [Name] {
        var names: [Name] = []
        repeat {
            let location = tokens.current.location
            names.append(Name(text: try tokens.expectIdentifier(what), location: location))
        } while tokens.consume(.comma)
        return names
    }

    private mutating func parseEntity(namespace: String) throws(CedarParseError) {
        let names = try parseIdentifierList("an entity type name")
        var memberOf: [Name] = []
        var shape: TypeExpression?
        var tags: TypeExpression?
        var enumIDs: [String]?
        if tokens.consumeKeyword("enum") {
            try tokens.expect(.leftBracket, "to open the list of enumerated ids")
            var ids: [String] = []
            repeat {
                ids.append(try tokens.expectString("an enumerated entity id string"))
            } while tokens.consume(.comma)
            try tokens.expect(.rightBracket, "to close the list of enumerated ids")
            enumIDs = ids
        } else {
            if tokens.consumeKeyword("in") {
                memberOf = try parseTypeNames()
            }
            _ = tokens.consume(.assign)
            if tokens.isSymbol(.leftBrace) {
                shape = try parseRecordType()
            }
            if tokens.consumeKeyword("tags") {
                tags = try parseType()
            }
        }
        try tokens.expect(.semicolon, "after the entity declaration")
        entities.append(EntityDeclaration(names: names, namespace: namespace, memberOf: memberOf, shape: shape, tags: tags, enumIDs: enumIDs))
    }

    private mutating func parseTypeNames() throws(CedarParseError) -> [Name] {
        func one(_ parser: inout SchemaParser) throws(CedarParseError) -> Name {
            let location = parser.tokens.current.location
            return Name(text: try parser.tokens.expectPath("an entity type name"), location: location)
        }
        guard tokens.consume(.leftBracket) else { return [try one(&self)] }
        var names: [Name] = []
        while !tokens.isSymbol(.rightBracket) {
            names.append(try one(&self))
            guard tokens.consume(.comma) else { break }
        }
        try tokens.expect(.rightBracket, "to close the list of entity types")
        return names
    }

    private mutating func parseActionName() throws(CedarParseError) -> Name {
        let location = tokens.current.location
        if case .string = tokens.current.kind {
            return Name(text: try tokens.expectString("an action name"), location: location)
        }
        return Name(text: try tokens.expectIdentifier("an action name"), location: location)
    }

    private mutating func parseActionReference() throws(CedarParseError) -> ActionReference {
        let location = tokens.current.location
        if case .string = tokens.current.kind {
            return ActionReference(typePath: nil, id: try tokens.expectString("an action name"), location: location)
        }
        let path = try tokens.expectPath("an action reference")
        if tokens.consume(.doubleColon) {
            return ActionReference(typePath: path, id: try tokens.expectString("an action id string"), location: location)
        }
        return ActionReference(typePath: nil, id: path, location: location)
    }

    private mutating func parseAction(namespace: String) throws(CedarParseError) {
        var names: [Name] = []
        repeat {
            names.append(try parseActionName())
        } while tokens.consume(.comma)
        var memberOf: [ActionReference] = []
        if tokens.consumeKeyword("in") {
            if tokens.consume(.leftBracket) {
                while !tokens.isSymbol(.rightBracket) {
                    memberOf.append(try parseActionReference())
                    guard tokens.consume(.comma) else { break }
                }
                try tokens.expect(.rightBracket, "to close the list of action groups")
            } else {
                memberOf.append(try parseActionReference())
            }
        }
        var principals: [Name] = []
        var resources: [Name] = []
        var context: TypeExpression?
        if tokens.consumeKeyword("appliesTo") {
            try tokens.expect(.leftBrace, "to open 'appliesTo'")
            while !tokens.isSymbol(.rightBrace) {
                if tokens.consumeKeyword("principal") {
                    try tokens.expect(.colon, "after 'principal'")
                    principals = try parseTypeNames()
                } else if tokens.consumeKeyword("resource") {
                    try tokens.expect(.colon, "after 'resource'")
                    resources = try parseTypeNames()
                } else if tokens.consumeKeyword("context") {
                    try tokens.expect(.colon, "after 'context'")
                    context = try parseType()
                } else {
                    throw tokens.unexpected("expected 'principal', 'resource' or 'context'")
                }
                guard tokens.consume(.comma) else { break }
            }
            try tokens.expect(.rightBrace, "to close 'appliesTo'")
        }
        try tokens.expect(.semicolon, "after the action declaration")
        actions.append(ActionDeclaration(names: names, namespace: namespace, memberOf: memberOf, principals: principals, resources: resources, context: context))
    }

    private mutating func parseType() throws(CedarParseError) -> TypeExpression {
        if tokens.isSymbol(.leftBrace) { return try parseRecordType() }
        let location = tokens.current.location
        if tokens.isKeyword("Set"), tokens.next.kind == .symbol(.less) {
            tokens.advance()
            tokens.advance()
            let element = try parseType()
            try tokens.expect(.greater, "to close 'Set<'")
            return .set(element)
        }
        return .name(try tokens.expectPath("a type"), location)
    }

    private mutating func parseRecordType() throws(CedarParseError) -> TypeExpression {
        try tokens.expect(.leftBrace, "to open the record type")
        var attributes: [AttributeDeclaration] = []
        while !tokens.isSymbol(.rightBrace) {
            try skipAnnotations()
            let name: String
            if case .string = tokens.current.kind {
                name = try tokens.expectString("an attribute name")
            } else {
                name = try tokens.expectIdentifier("an attribute name")
            }
            let isRequired = !tokens.consume(.question)
            try tokens.expect(.colon, "after the attribute name")
            attributes.append(AttributeDeclaration(name: name, isRequired: isRequired, type: try parseType()))
            guard tokens.consume(.comma) else { break }
        }
        try tokens.expect(.rightBrace, "to close the record type")
        return .record(attributes)
    }
}
