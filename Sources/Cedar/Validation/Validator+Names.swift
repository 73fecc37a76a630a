extension Validator {
    /// Reports entity types, actions and enumerated ids the schema does not declare.
    func checkNames(in policy: Policy) -> [ValidationError] {
        var types: Set<EntityType> = []
        var uids: Set<EntityUID> = []
        for constraint in [policy.principal, policy.resource] {
            switch constraint {
            case .equal(.uid(let uid)), .memberOf(.uid(let uid)): uids.insert(uid)
            case .isType(let type): types.insert(type)
            case .isTypeMemberOf(let type, let reference):
                types.insert(type)
                if case .uid(let uid) = reference { uids.insert(uid) }
            default: break
            }
        }
        switch policy.action {
        case .any: break
        case .equal(let uid), .memberOf(let uid): uids.insert(uid)
        case .memberOfAny(let list): uids.formUnion(list)
        }
        for condition in policy.conditions {
            collectNames(condition.expression, types: &types, uids: &uids)
        }
        var errors: [ValidationError] = []
        for type in types.union(uids.map(\.type)).sorted() where schema.entityTypes[type] == nil && !schema.actionTypes.contains(type) {
            errors.append(ValidationError(code: .unrecognizedEntityType, policyID: policy.id, message: "unrecognized entity type `\(type)`"))
        }
        for uid in uids.sorted(by: { $0.description < $1.description }) {
            if uid.type.isAction || schema.actionTypes.contains(uid.type), schema.actions[uid] == nil, schema.entityTypes[uid.type] == nil {
                errors.append(ValidationError(code: .unrecognizedActionID, policyID: policy.id, message: "unrecognized action `\(uid)`"))
            } else if let ids = schema.entityTypes[uid.type]?.enumIDs, !ids.contains(uid.id) {
                errors.append(ValidationError(code: .invalidEnumEntity, policyID: policy.id, message: "`\(uid)` is not one of the ids declared for the enumerated type \(uid.type)"))
            }
        }
        return errors
    }

    private func collectNames(_ expr: Expr, types: inout Set<EntityType>, uids: inout Set<EntityUID>) {
        switch expr {
        case .literal(.entity(let uid)):
            uids.insert(uid)
        case .literal, .variable, .slot:
            break
        case .isType(let subject, let type):
            types.insert(type)
            collectNames(subject, types: &types, uids: &uids)
        case .not(let operand), .negate(let operand), .isEmpty(let operand),
             .getAttribute(let operand, _), .hasAttribute(let operand, _), .like(let operand, _):
            collectNames(operand, types: &types, uids: &uids)
        case .and(let left, let right), .or(let left, let right), .binary(_, let left, let right):
            collectNames(left, types: &types, uids: &uids)
            collectNames(right, types: &types, uids: &uids)
        case .ifThenElse(let condition, let then, let otherwise):
            for part in [condition, then, otherwise] { collectNames(part, types: &types, uids: &uids) }
        case .set(let elements), .call(_, let elements):
            for element in elements { collectNames(element, types: &types, uids: &uids) }
        case .record(let fields):
            for field in fields { collectNames(field.value, types: &types, uids: &uids) }
        }
    }

    /// Reports a scope that no declared action's `appliesTo` can satisfy.
    func checkActionApplication(_ policy: Policy) -> ValidationError? {
        let actions: [EntityUID]
        switch policy.action {
        case .any: actions = Array(schema.actions.keys)
        case .equal(let uid): actions = schema.actions[uid] == nil ? [] : [uid]
        case .memberOf(let group): actions = schema.actions.keys.filter { schema.isDescendant(action: $0, of: group) }
        case .memberOfAny(let groups):
            actions = schema.actions.keys.filter { action in groups.contains { schema.isDescendant(action: action, of: $0) } }
        }
        let applies = actions.contains { action in
            let definition = schema.actions[action]!
            return definition.principals.contains { satisfies(policy.principal, $0) }
                && definition.resources.contains { satisfies(policy.resource, $0) }
        }
        guard !applies else { return nil }
        return ValidationError(
            code: .invalidActionApplication, policyID: policy.id,
            message: "no action in the scope applies to the principal and resource the scope allows"
        )
    }

    private func satisfies(_ constraint: ScopeConstraint, _ type: EntityType) -> Bool {
        switch constraint {
        case .any, .equal(.slot), .memberOf(.slot): return true
        case .equal(.uid(let uid)): return uid.type == type
        case .memberOf(.uid(let uid)): return schema.isDescendant(type, of: uid.type)
        case .isType(let required): return required == type
        case .isTypeMemberOf(let required, .slot): return required == type
        case .isTypeMemberOf(let required, .uid(let uid)): return required == type && schema.isDescendant(type, of: uid.type)
        }
    }
}
