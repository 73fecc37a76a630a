/// A Cedar expression, after the parser's desugaring (`!=`, `>`, `>=`, `is … in`, `has a.b`).
///
/// Expressions carry no source positions so that structurally equal expressions compare equal,
/// which the validator relies on when it tracks which attributes a `has` test proved present.
indirect enum Expr: Hashable, Sendable {
    case literal(Value)
    case variable(Variable)
    case slot(SlotID)
    case not(Expr)
    case negate(Expr)
    case and(Expr, Expr)
    case or(Expr, Expr)
    case ifThenElse(Expr, Expr, Expr)
    case binary(BinaryOperator, Expr, Expr)
    case isEmpty(Expr)
    case getAttribute(Expr, String)
    case hasAttribute(Expr, String)
    case like(Expr, Pattern)
    case isType(Expr, EntityType)
    case set([Expr])
    case record([RecordField])
    case call(ExtensionFunction, [Expr])
}

/// One `key: value` pair of a record literal, in source order.
struct RecordField: Hashable, Sendable {
    let key: String
    let value: Expr
}

/// The four request variables.
enum Variable: String, Hashable, Sendable {
    case principal, action, resource, context
}

/// A template slot.
public enum SlotID: String, Hashable, Sendable {
    case principal = "?principal"
    case resource = "?resource"
}

/// Binary operators and the binary built-in methods.
enum BinaryOperator: Hashable, Sendable {
    case equal, less, lessOrEqual, add, subtract, multiply, memberOf
    case contains, containsAll, containsAny, getTag, hasTag
}
