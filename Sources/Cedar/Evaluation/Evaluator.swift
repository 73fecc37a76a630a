/// Evaluates expressions against one request and an entity store, following Cedar's semantics.
struct Evaluator {
    let request: Request
    let entities: Entities

    func evaluate(_ expr: Expr) throws(EvaluationFailure) -> Value {
        switch expr {
        case .literal(let value):
            return value
        case .variable(let variable):
            switch variable {
            case .principal: return .entity(request.principal)
            case .action: return .entity(request.action)
            case .resource: return .entity(request.resource)
            case .context: return .record(request.context)
            }
        case .slot(let slot):
            throw EvaluationFailure(code: .unlinkedSlot, message: "template slot \(slot.rawValue) was never linked")
        case .not(let operand):
            return .bool(!(try boolean(evaluate(operand))))
        case .negate(let operand):
            let (value, overflow) = Int64(0).subtractingReportingOverflow(try long(evaluate(operand)))
            if overflow { throw .overflow("negate \(Int64.min)") }
            return .long(value)
        case .and(let left, let right):
            guard try boolean(evaluate(left)) else { return .bool(false) }
            return .bool(try boolean(evaluate(right)))
        case .or(let left, let right):
            if try boolean(evaluate(left)) { return .bool(true) }
            return .bool(try boolean(evaluate(right)))
        case .ifThenElse(let condition, let then, let otherwise):
            return try evaluate(boolean(evaluate(condition)) ? then : otherwise)
        case .binary(let op, let left, let right):
            return try apply(op, evaluate(left), evaluate(right))
        case .isEmpty(let operand):
            let value = try evaluate(operand)
            guard case .set(let elements) = value else { throw .typeError(expected: "set", got: value) }
            return .bool(elements.isEmpty)
        case .getAttribute(let subject, let name):
            return try attribute(name, of: evaluate(subject))
        case .hasAttribute(let subject, let name):
            switch try evaluate(subject) {
            case .record(let fields): return .bool(fields[name] != nil)
            case .entity(let uid): return .bool(entities[uid]?.attributes[name] != nil)
            case let other: throw .typeError(expected: "entity or record", got: other)
            }
        case .like(let subject, let pattern):
            let value = try evaluate(subject)
            guard case .string(let text) = value else { throw .typeError(expected: "string", got: value) }
            return .bool(pattern.matches(text))
        case .isType(let subject, let type):
            let value = try evaluate(subject)
            guard case .entity(let uid) = value else { throw .typeError(expected: "entity", got: value) }
            return .bool(uid.type == type)
        case .set(let elements):
            var values = Set<Value>(minimumCapacity: elements.count)
            for element in elements { values.insert(try evaluate(element)) }
            return .set(values)
        case .record(let fields):
            var values = [String: Value](minimumCapacity: fields.count)
            for field in fields { values[field.key] = try evaluate(field.value) }
            return .record(values)
        case .call(let function, let arguments):
            var values: [Value] = []
            values.reserveCapacity(arguments.count)
            for argument in arguments { values.append(try evaluate(argument)) }
            return try function.apply(to: values)
        }
    }

    func boolean(_ value: Value) throws(EvaluationFailure) -> Bool {
        guard case .bool(let flag) = value else { throw .typeError(expected: "bool", got: value) }
        return flag
    }

    func long(_ value: Value) throws(EvaluationFailure) -> Int64 {
        guard case .long(let number) = value else { throw .typeError(expected: "long", got: value) }
        return number
    }

    private func attribute(_ name: String, of subject: Value) throws(EvaluationFailure) -> Value {
        switch subject {
        case .record(let fields):
            guard let value = fields[name] else {
                throw EvaluationFailure(code: .attributeNotFound, message: "record does not have the attribute `\(name)`")
            }
            return value
        case .entity(let uid):
            guard let entity = entities[uid] else {
                throw EvaluationFailure(code: .entityDoesNotExist, message: "entity `\(uid)` does not exist")
            }
            guard let value = entity.attributes[name] else {
                throw EvaluationFailure(code: .attributeNotFound, message: "`\(uid)` does not have the attribute `\(name)`")
            }
            return value
        default:
            throw .typeError(expected: "entity or record", got: subject)
        }
    }
}
