extension Schema {
    /// Parses a schema in the human `.cedarschema` format and resolves every name in it.
    public init(parsing text: String, fileName: String = "<schema>") throws(SchemaError) {
        let parser: SchemaParser
        do {
            parser = try SchemaParser(text: text, fileName: fileName)
        } catch {
            throw SchemaError(code: .syntax, fileName: fileName, location: error.location, message: error.message)
        }
        var builder = SchemaBuilder(parser: parser, fileName: fileName)
        self = try builder.build()
    }

    init(entityTypes: [EntityType: EntityTypeDefinition], actions: [EntityUID: ActionDefinition]) {
        self.entityTypes = entityTypes
        self.actions = actions
        self.actionTypes = Set(actions.keys.map(\.type))
    }
}

/// Resolves the names in parsed schema declarations, following Cedar's lookup order:
/// a common type, then an entity type, in the current namespace, then the same in the
/// empty namespace, then the built-in types (also reachable as `__cedar::Name`).
private struct SchemaBuilder {
    typealias TypeExpression = SchemaParser.TypeExpression

    let parser: SchemaParser
    let fileName: String
    private var declaredEntityTypes: Set<EntityType> = []
    private var commonTypes: [String: (type: TypeExpression, namespace: String)] = [:]
    private var resolvedCommonTypes: [String: CedarType] = [:]
    private var resolving: Set<String> = []

    init(parser: SchemaParser, fileName: String) {
        self.parser = parser
        self.fileName = fileName
    }

    private static let builtins: [String: CedarType] = [
        "Bool": .anyBool, "Long": .long, "String": .string,
        "ipaddr": .ext(.ipaddr), "decimal": .ext(.decimal), "datetime": .ext(.datetime), "duration": .ext(.duration),
    ]

    private func qualify(_ name: String, in namespace: String) -> String {
        namespace.isEmpty ? name : namespace + "::" + name
    }

    private func error(_ code: SchemaError.Code, _ message: String, at location: SourceLocation) -> SchemaError {
        SchemaError(code: code, fileName: fileName, location: location, message: message)
    }

    mutating func build() throws(SchemaError) -> Schema {
        for declaration in parser.entities {
            for name in declaration.names {
                let type = EntityType(qualify(name.text, in: declaration.namespace))
                guard declaredEntityTypes.insert(type).inserted else {
                    throw error(.duplicateDeclaration, "entity type '\(type)' is declared more than once", at: name.location)
                }
            }
        }
        for declaration in parser.commonTypes {
            let name = qualify(declaration.name.text, in: declaration.namespace)
            if Self.builtins[declaration.name.text] != nil {
                throw error(.reservedName, "'\(declaration.name.text)' is a built-in type and cannot be redeclared", at: declaration.name.location)
            }
            guard commonTypes[name] == nil else {
                throw error(.duplicateDeclaration, "type '\(name)' is declared more than once", at: declaration.name.location)
            }
            commonTypes[name] = (declaration.type, declaration.namespace)
        }
        var entityTypes: [EntityType: Schema.EntityTypeDefinition] = [:]
        for declaration in parser.entities {
            var memberOf: Set<EntityType> = []
            for parent in declaration.memberOf {
                memberOf.insert(try resolveEntityType(parent.text, in: declaration.namespace, at: parent.location))
            }
            var attributes = RecordType.empty
            if let shape = declaration.shape {
                guard case .record(let record) = try resolve(shape, in: declaration.namespace) else {
                    throw error(.invalidContext, "entity attributes must be a record type", at: declaration.names[0].location)
                }
                attributes = record
            }
            let tags = try declaration.tags.map { (tags) throws(SchemaError) in try resolve(tags, in: declaration.namespace) }
            for name in declaration.names {
                entityTypes[EntityType(qualify(name.text, in: declaration.namespace))] = Schema.EntityTypeDefinition(
                    attributes: attributes, memberOf: memberOf, ancestors: [], tags: tags, enumIDs: declaration.enumIDs
                )
            }
        }
        for type in Array(entityTypes.keys) {
            entityTypes[type]!.ancestors = Self.closure(from: type) { entityTypes[$0]?.memberOf ?? [] }
        }
        let actions = try buildActions()
        return Schema(entityTypes: entityTypes, actions: actions)
    }

    private mutating func buildActions() throws(SchemaError) -> [EntityUID: Schema.ActionDefinition] {
        var actions: [EntityUID: Schema.ActionDefinition] = [:]
        var locations: [EntityUID: SourceLocation] = [:]
        for declaration in parser.actions {
            let actionType = EntityType(qualify("Action", in: declaration.namespace))
            var parents: Set<EntityUID> = []
            for reference in declaration.memberOf {
                let type = reference.typePath.map { path in
                    path.contains("::") ? EntityType(path) : EntityType(qualify(path, in: declaration.namespace))
                } ?? actionType
                parents.insert(EntityUID(type: type, id: reference.id))
                locations[EntityUID(type: type, id: reference.id)] = reference.location
            }
            var principals: [EntityType] = []
            for name in declaration.principals {
                principals.append(try resolveEntityType(name.text, in: declaration.namespace, at: name.location))
            }
            var resources: [EntityType] = []
            for name in declaration.resources {
                resources.append(try resolveEntityType(name.text, in: declaration.namespace, at: name.location))
            }
            var context = RecordType.empty
            if let contextType = declaration.context {
                guard case .record(let record) = try resolve(contextType, in: declaration.namespace) else {
                    throw error(.invalidContext, "an action's context must be a record type", at: declaration.names[0].location)
                }
                context = record
            }
            for name in declaration.names {
                let uid = EntityUID(type: actionType, id: name.text)
                guard actions[uid] == nil else {
                    throw error(.duplicateDeclaration, "action '\(uid)' is declared more than once", at: name.location)
                }
                actions[uid] = Schema.ActionDefinition(principals: principals, resources: resources, context: context, parents: parents, ancestors: [])
            }
        }
        for (uid, definition) in actions {
            for parent in definition.parents where actions[parent] == nil {
                throw error(.undeclaredAction, "action '\(uid)' is declared in undeclared action '\(parent)'", at: locations[parent]!)
            }
        }
        for uid in Array(actions.keys) {
            actions[uid]!.ancestors = Self.closure(from: uid) { actions[$0]?.parents ?? [] }
        }
        return actions
    }

    private static func closure<Node: Hashable>(from start: Node, parents: (Node) -> Set<Node>) -> Set<Node> {
        var result: Set<Node> = []
        var pending = Array(parents(start))
        while let next = pending.popLast() {
            if result.insert(next).inserted { pending.append(contentsOf: parents(next)) }
        }
        return result
    }

    private func resolveEntityType(_ name: String, in namespace: String, at location: SourceLocation) throws(SchemaError) -> EntityType {
        let qualified = EntityType(qualify(name, in: namespace))
        if !name.contains("::"), declaredEntityTypes.contains(qualified) { return qualified }
        if declaredEntityTypes.contains(EntityType(name)) { return EntityType(name) }
        throw error(.undeclaredType, "undeclared entity type '\(name)'", at: location)
    }

    private mutating func resolve(_ expression: TypeExpression, in namespace: String) throws(SchemaError) -> CedarType {
        switch expression {
        case .set(let element):
            return .set(try resolve(element, in: namespace))
        case .record(let declarations):
            var attributes: [String: AttributeType] = [:]
            for declaration in declarations {
                attributes[declaration.name] = AttributeType(type: try resolve(declaration.type, in: namespace), isRequired: declaration.isRequired)
            }
            return .record(RecordType(attributes: attributes))
        case .name(let name, let location):
            var candidates: [String] = []
            if name.contains("::") {
                candidates = [name]
            } else {
                candidates = [qualify(name, in: namespace)]
                if !namespace.isEmpty { candidates.append(name) }
            }
            for candidate in candidates {
                if commonTypes[candidate] != nil { return try resolveCommonType(candidate, at: location) }
                if declaredEntityTypes.contains(EntityType(candidate)) { return .entity(EntityType(candidate)) }
            }
            let builtinName = name.hasPrefix("__cedar::") ? String(name.dropFirst("__cedar::".count)) : name
            if let builtin = Self.builtins[builtinName] { return builtin }
            throw error(.undeclaredType, "undeclared type '\(name)'", at: location)
        }
    }

    private mutating func resolveCommonType(_ name: String, at location: SourceLocation) throws(SchemaError) -> CedarType {
        if let resolved = resolvedCommonTypes[name] { return resolved }
        guard resolving.insert(name).inserted else {
            throw error(.cyclicTypeDefinition, "type '\(name)' is defined in terms of itself", at: location)
        }
        let declaration = commonTypes[name]!
        let resolved = try resolve(declaration.type, in: declaration.namespace)
        resolving.remove(name)
        resolvedCommonTypes[name] = resolved
        return resolved
    }
}
