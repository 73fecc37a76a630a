/// One `when { … }` or `unless { … }` clause.
struct Condition: Hashable, Sendable {
    enum Kind: String, Hashable, Sendable {
        case when
        case unless
    }

    let kind: Kind
    let expression: Expr

    /// The clause as a boolean expression: `unless { e }` holds when `e` is false.
    var asExpression: Expr { kind == .when ? expression : .not(expression) }
}
