/// What a policy's scope says about the principal or the resource.
public enum ScopeConstraint: Hashable, Sendable {
    /// No constraint.
    case any
    /// `== E` (or `== ?slot` in a template).
    case equal(EntityReference)
    /// `in E`.
    case memberOf(EntityReference)
    /// `is T`.
    case isType(EntityType)
    /// `is T in E`.
    case isTypeMemberOf(EntityType, EntityReference)

    var slot: SlotID? {
        switch self {
        case .equal(.slot(let slot)), .memberOf(.slot(let slot)), .isTypeMemberOf(_, .slot(let slot)): return slot
        default: return nil
        }
    }

    /// The constraint with its slot, if any, replaced by `uid`.
    func linking(_ uid: EntityUID) -> ScopeConstraint {
        switch self {
        case .equal(.slot): return .equal(.uid(uid))
        case .memberOf(.slot): return .memberOf(.uid(uid))
        case .isTypeMemberOf(let type, .slot): return .isTypeMemberOf(type, .uid(uid))
        default: return self
        }
    }

    /// The constraint as an expression over `variable`.
    func expression(for variable: Variable) -> Expr {
        func reference(_ reference: EntityReference) -> Expr {
            switch reference {
            case .uid(let uid): return .literal(.entity(uid))
            case .slot(let slot): return .slot(slot)
            }
        }
        switch self {
        case .any: return .literal(.bool(true))
        case .equal(let target): return .binary(.equal, .variable(variable), reference(target))
        case .memberOf(let target): return .binary(.memberOf, .variable(variable), reference(target))
        case .isType(let type): return .isType(.variable(variable), type)
        case .isTypeMemberOf(let type, let target):
            return .and(.isType(.variable(variable), type), .binary(.memberOf, .variable(variable), reference(target)))
        }
    }
}

/// An entity in a scope constraint: a literal uid, or a template slot.
public enum EntityReference: Hashable, Sendable {
    case uid(EntityUID)
    case slot(SlotID)
}

/// What a policy's scope says about the action.
public enum ActionConstraint: Hashable, Sendable {
    /// No constraint.
    case any
    /// `action == A`.
    case equal(EntityUID)
    /// `action in A`.
    case memberOf(EntityUID)
    /// `action in [A1, A2, …]`.
    case memberOfAny([EntityUID])

    var expression: Expr {
        switch self {
        case .any: return .literal(.bool(true))
        case .equal(let uid): return .binary(.equal, .variable(.action), .literal(.entity(uid)))
        case .memberOf(let uid): return .binary(.memberOf, .variable(.action), .literal(.entity(uid)))
        case .memberOfAny(let uids):
            return .binary(.memberOf, .variable(.action), .set(uids.map { .literal(.entity($0)) }))
        }
    }
}
