extension Typechecker {
    /// A literal's value, with `action` standing for the environment's action.
    private func literalValue(_ expr: Expr) -> Value? {
        switch expr {
        case .literal(let value): return value
        case .variable(.action): return .entity(environment.action)
        default: return nil
        }
    }

    private func literalUID(_ expr: Expr) -> EntityUID? {
        guard case .entity(let uid)? = literalValue(expr) else { return nil }
        return uid
    }

    func typeOfBinary(_ op: BinaryOperator, _ left: Expr, _ right: Expr, _ known: Set<Capability>) throws(TypeFailure) -> Typed {
        let leftType = try typeOf(left, known).type
        let rightType = try typeOf(right, known).type
        switch (op, leftType, rightType) {
        case (.equal, _, _):
            if let a = literalValue(left), let b = literalValue(right) {
                return Typed(type: .bool(a == b ? .alwaysTrue : .alwaysFalse))
            }
            if leftType.leastUpperBound(rightType) != nil { return Typed(type: .anyBool) }
            if case .entity = leftType, case .entity = rightType { return Typed(type: .bool(.alwaysFalse)) }
            throw TypeFailure(message: "cannot compare \(leftType) with \(rightType) using '=='")
        case (.less, .long, .long), (.lessOrEqual, .long, .long),
             (.less, .ext(.datetime), .ext(.datetime)), (.lessOrEqual, .ext(.datetime), .ext(.datetime)),
             (.less, .ext(.duration), .ext(.duration)), (.lessOrEqual, .ext(.duration), .ext(.duration)):
            return Typed(type: .anyBool)
        case (.add, .long, .long), (.subtract, .long, .long), (.multiply, .long, .long):
            return Typed(type: .long)
        case (.memberOf, .entity(let member), .entity(let group)):
            if let action = literalUID(left), schema.actions[action] != nil, let target = literalUID(right) {
                return Typed(type: .bool(schema.isDescendant(action: action, of: target) ? .alwaysTrue : .alwaysFalse))
            }
            return Typed(type: schema.isDescendant(member, of: group) ? .anyBool : .bool(.alwaysFalse))
        case (.memberOf, .entity(let member), .set(.entity(let group))):
            if let action = literalUID(left), schema.actions[action] != nil, case .set(let elements) = right {
                let targets = elements.compactMap(literalUID)
                if targets.count == elements.count {
                    let found = targets.contains { schema.isDescendant(action: action, of: $0) }
                    return Typed(type: .bool(found ? .alwaysTrue : .alwaysFalse))
                }
            }
            return Typed(type: schema.isDescendant(member, of: group) ? .anyBool : .bool(.alwaysFalse))
        case (.contains, .set(let element), _):
            return try boolIfCompatible(element, rightType)
        case (.containsAll, .set(let a), .set(let b)), (.containsAny, .set(let a), .set(let b)):
            return try boolIfCompatible(a, b)
        case (.hasTag, .entity(let type), .string):
            return try typeOfHasTag(type, left, right, known)
        case (.getTag, .entity(let type), .string):
            return try typeOfGetTag(type, left, right, known)
        default:
            throw TypeFailure(message: "operator \(op) does not apply to \(leftType) and \(rightType)")
        }
    }

    private func boolIfCompatible(_ a: CedarType, _ b: CedarType) throws(TypeFailure) -> Typed {
        guard a.leastUpperBound(b) != nil else {
            throw TypeFailure(message: "incompatible types \(a) and \(b)")
        }
        return Typed(type: .anyBool)
    }

    private func typeOfHasTag(_ type: EntityType, _ subject: Expr, _ tag: Expr, _ known: Set<Capability>) throws(TypeFailure) -> Typed {
        guard let definition = schema.entityTypes[type] else {
            if schema.actionTypes.contains(type) { return Typed(type: .bool(.alwaysFalse)) }
            throw TypeFailure(message: "entity type \(type) is not declared in the schema")
        }
        guard definition.tags != nil else { return Typed(type: .bool(.alwaysFalse)) }
        let capability = Capability(subject: subject, key: .tag(tag))
        if known.contains(capability) { return Typed(type: .bool(.alwaysTrue)) }
        return Typed(type: .anyBool, capabilities: [capability])
    }

    private func typeOfGetTag(_ type: EntityType, _ subject: Expr, _ tag: Expr, _ known: Set<Capability>) throws(TypeFailure) -> Typed {
        guard let definition = schema.entityTypes[type] else {
            throw TypeFailure(message: "entities of type \(type) have no tags")
        }
        guard let tagType = definition.tags else {
            throw TypeFailure(message: "entities of type \(type) have no tags")
        }
        guard known.contains(Capability(subject: subject, key: .tag(tag))) else {
            throw TypeFailure(message: "test a tag with `hasTag` before reading it with `getTag`")
        }
        return Typed(type: tagType)
    }

    func typeOfCall(_ function: ExtensionFunction, _ arguments: [Expr], _ known: Set<Capability>) throws(TypeFailure) -> CedarType {
        var types: [CedarType] = []
        for argument in arguments { types.append(try typeOf(argument, known).type) }
        func expect(_ expected: CedarType...) throws(TypeFailure) {
            guard types == expected else {
                throw TypeFailure(message: "`\(function.rawValue)` expects arguments (\(expected.map(\.description).joined(separator: ", "))), found (\(types.map(\.description).joined(separator: ", ")))")
            }
        }
        if function.isConstructor {
            try expect(.string)
            guard case .literal(.string(let text)) = arguments.first, (try? function.apply(to: [.string(text)])) != nil else {
                throw TypeFailure(message: "`\(function.rawValue)` must be applied to a string literal that it accepts")
            }
            switch function {
            case .ip: return .ext(.ipaddr)
            case .decimal: return .ext(.decimal)
            case .datetime: return .ext(.datetime)
            default: return .ext(.duration)
            }
        }
        switch function {
        case .isIpv4, .isIpv6, .isLoopback, .isMulticast:
            try expect(.ext(.ipaddr))
            return .anyBool
        case .isInRange:
            try expect(.ext(.ipaddr), .ext(.ipaddr))
            return .anyBool
        case .lessThan, .lessThanOrEqual, .greaterThan, .greaterThanOrEqual:
            try expect(.ext(.decimal), .ext(.decimal))
            return .anyBool
        case .offset:
            try expect(.ext(.datetime), .ext(.duration))
            return .ext(.datetime)
        case .durationSince:
            try expect(.ext(.datetime), .ext(.datetime))
            return .ext(.duration)
        case .toDate:
            try expect(.ext(.datetime))
            return .ext(.datetime)
        case .toTime:
            try expect(.ext(.datetime))
            return .ext(.duration)
        default:
            try expect(.ext(.duration))
            return .long
        }
    }
}
