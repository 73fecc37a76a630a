extension Evaluator {
    func apply(_ op: BinaryOperator, _ left: Value, _ right: Value) throws(EvaluationFailure) -> Value {
        switch op {
        case .equal:
            return .bool(left == right)
        case .less, .lessOrEqual:
            return .bool(try compare(op == .less, left, right))
        case .add, .subtract, .multiply:
            let (a, b) = (try long(left), try long(right))
            let result: (partialValue: Int64, overflow: Bool)
            let verb: String
            switch op {
            case .add: result = a.addingReportingOverflow(b); verb = "add \(a) + \(b)"
            case .subtract: result = a.subtractingReportingOverflow(b); verb = "subtract \(a) - \(b)"
            default: result = a.multipliedReportingOverflow(by: b); verb = "multiply \(a) * \(b)"
            }
            if result.overflow { throw .overflow(verb) }
            return .long(result.partialValue)
        case .memberOf:
            guard case .entity(let member) = left else { throw .typeError(expected: "entity", got: left) }
            return .bool(try isMember(member, of: right))
        case .contains:
            guard case .set(let elements) = left else { throw .typeError(expected: "set", got: left) }
            return .bool(elements.contains(right))
        case .containsAll, .containsAny:
            guard case .set(let elements) = left else { throw .typeError(expected: "set", got: left) }
            guard case .set(let others) = right else { throw .typeError(expected: "set", got: right) }
            return .bool(op == .containsAll ? others.isSubset(of: elements) : !others.isDisjoint(with: elements))
        case .getTag, .hasTag:
            guard case .entity(let uid) = left else { throw .typeError(expected: "entity", got: left) }
            guard case .string(let tag) = right else { throw .typeError(expected: "string", got: right) }
            if op == .hasTag { return .bool(entities[uid]?.tags[tag] != nil) }
            guard let entity = entities[uid] else {
                throw EvaluationFailure(code: .entityDoesNotExist, message: "entity `\(uid)` does not exist")
            }
            guard let value = entity.tags[tag] else {
                throw EvaluationFailure(code: .tagNotFound, message: "`\(uid)` does not have the tag `\(tag)`")
            }
            return value
        }
    }

    /// `<` and `<=` work on longs, and on datetimes and durations of the same type.
    private func compare(_ strict: Bool, _ left: Value, _ right: Value) throws(EvaluationFailure) -> Bool {
        switch (left, right) {
        case (.long(let a), .long(let b)): return strict ? a < b : a <= b
        case (.datetime(let a), .datetime(let b)): return strict ? a < b : a <= b
        case (.duration(let a), .duration(let b)): return strict ? a < b : a <= b
        case (.long, _): throw .typeError(expected: "long", got: right)
        case (.datetime, _): throw .typeError(expected: "datetime", got: right)
        case (.duration, _): throw .typeError(expected: "duration", got: right)
        default: throw .typeError(expected: "long, datetime or duration", got: left)
        }
    }

    /// `in` is reflexive and transitive over the entity hierarchy; the right side may be a set.
    private func isMember(_ member: EntityUID, of target: Value) throws(EvaluationFailure) -> Bool {
        switch target {
        case .entity(let group):
            return entities.isDescendant(member, of: group)
        case .set(let elements):
            var groups: [EntityUID] = []
            groups.reserveCapacity(elements.count)
            for element in elements {
                guard case .entity(let group) = element else { throw .typeError(expected: "entity", got: element) }
                groups.append(group)
            }
            return groups.contains { entities.isDescendant(member, of: $0) }
        default:
            throw .typeError(expected: "entity or set of entities", got: target)
        }
    }
}
