/// One combination of principal type, action and resource type that a request can have.
struct RequestEnvironment: Hashable, Sendable {
    let principal: EntityType
    let action: EntityUID
    let resource: EntityType
    let context: RecordType
}

/// A fact established by a `has` or `hasTag` test: `subject` has the attribute or tag.
struct Capability: Hashable {
    enum Key: Hashable {
        case attribute(String)
        case tag(Expr)
    }

    let subject: Expr
    let key: Key
}

struct TypeFailure: Error {
    let message: String
}

/// Strict-mode typechecking of one expression in one request environment.
///
/// Booleans are tracked as true, false or unknown, so branches that cannot run are not
/// checked, the way Cedar's validator does; attributes that are optional may only be read
/// where a `has` test (a capability) proves them present.
struct Typechecker {
    let schema: Schema
    let environment: RequestEnvironment

    struct Typed {
        let type: CedarType
        var capabilities: Set<Capability> = []
    }

    func typeOf(_ expr: Expr, _ known: Set<Capability>) throws(TypeFailure) -> Typed {
        switch expr {
        case .literal(let value):
            return Typed(type: try typeOfLiteral(value))
        case .variable(let variable):
            switch variable {
            case .principal: return Typed(type: .entity(environment.principal))
            case .action: return Typed(type: .entity(environment.action.type))
            case .resource: return Typed(type: .entity(environment.resource))
            case .context: return Typed(type: .record(environment.context))
            }
        case .slot(let slot):
            return Typed(type: .entity(slot == .principal ? environment.principal : environment.resource))
        case .not(let operand):
            let found = try typeOf(operand, known).type
            guard case .bool(let value) = found else { throw unexpected(found, "Bool") }
            switch value {
            case .any: return Typed(type: .anyBool)
            case .alwaysTrue: return Typed(type: .bool(.alwaysFalse))
            case .alwaysFalse: return Typed(type: .bool(.alwaysTrue))
            }
        case .negate(let operand):
            let found = try typeOf(operand, known).type
            guard found == .long else { throw unexpected(found, "Long") }
            return Typed(type: .long)
        case .and(let left, let right):
            return try typeOfAnd(left, right, known)
        case .or(let left, let right):
            return try typeOfOr(left, right, known)
        case .ifThenElse(let condition, let then, let otherwise):
            return try typeOfIf(condition, then, otherwise, known)
        case .binary(let op, let left, let right):
            return try typeOfBinary(op, left, right, known)
        case .isEmpty(let operand):
            let found = try typeOf(operand, known).type
            guard case .set = found else { throw unexpected(found, "a set") }
            return Typed(type: .anyBool)
        case .getAttribute(let subject, let name):
            return try typeOfGetAttribute(subject, name, known)
        case .hasAttribute(let subject, let name):
            return try typeOfHasAttribute(subject, name, known)
        case .like(let subject, _):
            let found = try typeOf(subject, known).type
            guard found == .string else { throw unexpected(found, "String") }
            return Typed(type: .anyBool)
        case .isType(let subject, let type):
            let found = try typeOf(subject, known).type
            guard case .entity(let actual) = found else { throw unexpected(found, "an entity") }
            return Typed(type: .bool(actual == type ? .alwaysTrue : .alwaysFalse))
        case .set(let elements):
            guard var element = try elements.first.map({ (first) throws(TypeFailure) in try typeOf(first, known).type }) else {
                throw TypeFailure(message: "empty set literals are not allowed; their element type is unknown")
            }
            for other in elements.dropFirst() {
                let type = try typeOf(other, known).type
                guard let merged = element.leastUpperBound(type) else {
                    throw TypeFailure(message: "set elements must have compatible types, found \(element) and \(type)")
                }
                element = merged
            }
            return Typed(type: .set(element))
        case .record(let fields):
            var attributes: [String: AttributeType] = [:]
            for field in fields {
                attributes[field.key] = AttributeType(type: try typeOf(field.value, known).type, isRequired: true)
            }
            return Typed(type: .record(RecordType(attributes: attributes)))
        case .call(let function, let arguments):
            return Typed(type: try typeOfCall(function, arguments, known))
        }
    }

    func unexpected(_ found: CedarType, _ expected: String) -> TypeFailure {
        TypeFailure(message: "expected \(expected), found \(found)")
    }

    private func typeOfLiteral(_ value: Value) throws(TypeFailure) -> CedarType {
        switch value {
        case .bool(let flag): return .bool(flag ? .alwaysTrue : .alwaysFalse)
        case .long: return .long
        case .string: return .string
        case .entity(let uid):
            guard schema.isValid(uid) else { throw TypeFailure(message: "entity `\(uid)` is not declared in the schema") }
            return .entity(uid.type)
        default:
            throw TypeFailure(message: "unexpected literal \(value)")
        }
    }

    private func typeOfAnd(_ left: Expr, _ right: Expr, _ known: Set<Capability>) throws(TypeFailure) -> Typed {
        let first = try typeOf(left, known)
        guard case .bool(let a) = first.type else { throw unexpected(first.type, "Bool") }
        if a == .alwaysFalse { return Typed(type: .bool(.alwaysFalse)) }
        let second = try typeOf(right, known.union(first.capabilities))
        guard case .bool(let b) = second.type else { throw unexpected(second.type, "Bool") }
        if b == .alwaysFalse { return Typed(type: .bool(.alwaysFalse)) }
        let result: BoolType = a == .alwaysTrue && b == .alwaysTrue ? .alwaysTrue : .any
        return Typed(type: .bool(result), capabilities: first.capabilities.union(second.capabilities))
    }

    private func typeOfOr(_ left: Expr, _ right: Expr, _ known: Set<Capability>) throws(TypeFailure) -> Typed {
        let first = try typeOf(left, known)
        guard case .bool(let a) = first.type else { throw unexpected(first.type, "Bool") }
        if a == .alwaysTrue { return Typed(type: .bool(.alwaysTrue)) }
        let second = try typeOf(right, known)
        guard case .bool(let b) = second.type else { throw unexpected(second.type, "Bool") }
        if a == .alwaysFalse { return second }
        switch b {
        case .alwaysTrue: return Typed(type: .bool(.alwaysTrue))
        case .alwaysFalse: return Typed(type: .anyBool, capabilities: first.capabilities)
        case .any: return Typed(type: .anyBool, capabilities: first.capabilities.intersection(second.capabilities))
        }
    }

    private func typeOfIf(_ condition: Expr, _ then: Expr, _ otherwise: Expr, _ known: Set<Capability>) throws(TypeFailure) -> Typed {
        let guardType = try typeOf(condition, known)
        guard case .bool(let value) = guardType.type else { throw unexpected(guardType.type, "Bool") }
        switch value {
        case .alwaysTrue:
            var result = try typeOf(then, known.union(guardType.capabilities))
            result.capabilities.formUnion(guardType.capabilities)
            return result
        case .alwaysFalse:
            return try typeOf(otherwise, known)
        case .any:
            let thenType = try typeOf(then, known.union(guardType.capabilities))
            let elseType = try typeOf(otherwise, known)
            guard let merged = thenType.type.leastUpperBound(elseType.type) else {
                throw TypeFailure(message: "the branches of 'if' have incompatible types \(thenType.type) and \(elseType.type)")
            }
            let capabilities = guardType.capabilities.union(thenType.capabilities).intersection(elseType.capabilities)
            return Typed(type: merged, capabilities: capabilities)
        }
    }

    private func typeOfGetAttribute(_ subject: Expr, _ name: String, _ known: Set<Capability>) throws(TypeFailure) -> Typed {
        let subjectType = try typeOf(subject, known).type
        let record: RecordType
        switch subjectType {
        case .record(let fields): record = fields
        case .entity(let type):
            guard let definition = schema.entityTypes[type] else {
                throw TypeFailure(message: "entities of type \(type) have no attributes")
            }
            record = definition.attributes
        default:
            throw unexpected(subjectType, "an entity or record")
        }
        guard let attribute = record.attributes[name] else {
            throw TypeFailure(message: "attribute `\(name)` is not declared for \(subjectType)")
        }
        guard attribute.isRequired || known.contains(Capability(subject: subject, key: .attribute(name))) else {
            throw TypeFailure(message: "attribute `\(name)` is optional; test it with `has` before reading it")
        }
        return Typed(type: attribute.type)
    }

    private func typeOfHasAttribute(_ subject: Expr, _ name: String, _ known: Set<Capability>) throws(TypeFailure) -> Typed {
        let subjectType = try typeOf(subject, known).type
        let record: RecordType
        // A record literal or context always exists; an entity might be missing from the store.
        let knownToExist: Bool
        switch subjectType {
        case .record(let fields):
            record = fields
            knownToExist = true
        case .entity(let type):
            guard let definition = schema.entityTypes[type] else {
                if schema.actionTypes.contains(type) { return Typed(type: .bool(.alwaysFalse)) }
                throw TypeFailure(message: "entity type \(type) is not declared in the schema")
            }
            record = definition.attributes
            knownToExist = false
        default:
            throw unexpected(subjectType, "an entity or record")
        }
        guard let attribute = record.attributes[name] else { return Typed(type: .bool(.alwaysFalse)) }
        let capability = Capability(subject: subject, key: .attribute(name))
        if known.contains(capability) || (attribute.isRequired && knownToExist) {
            return Typed(type: .bool(.alwaysTrue))
        }
        return Typed(type: .anyBool, capabilities: [capability])
    }
}
