/// A parsed Cedar policy, template, or template-linked policy.
public struct Policy: Sendable, Identifiable {
    /// The policy's id in its policy set.
    public let id: PolicyID
    /// Whether the policy permits or forbids.
    public let effect: Effect
    /// The annotations, such as `@id("…")`; an annotation written without a value maps to "".
    public let annotations: [String: String]
    /// The principal part of the scope.
    public let principal: ScopeConstraint
    /// The action part of the scope.
    public let action: ActionConstraint
    /// The resource part of the scope.
    public let resource: ScopeConstraint
    /// For a linked policy, the template it was made from.
    public let templateID: PolicyID?
    /// Where the policy starts in its source text (its first annotation, or `permit`/`forbid`).
    public let location: SourceLocation
    /// Where its terminating `;` is, so tools can quote the policy as written.
    public let endLocation: SourceLocation
    let conditions: [Condition]
    /// The scope and all clauses combined, computed once for evaluation and validation.
    let condition: Expr

    init(
        id: PolicyID, effect: Effect, annotations: [String: String], principal: ScopeConstraint,
        action: ActionConstraint, resource: ScopeConstraint, conditions: [Condition],
        templateID: PolicyID?, location: SourceLocation, endLocation: SourceLocation
    ) {
        self.id = id
        self.effect = effect
        self.annotations = annotations
        self.principal = principal
        self.action = action
        self.resource = resource
        self.conditions = conditions
        self.templateID = templateID
        self.location = location
        self.endLocation = endLocation
        // Scope first, so requests outside the scope never reach clauses that could error.
        var combined = Expr.and(
            .and(principal.expression(for: .principal), action.expression),
            resource.expression(for: .resource)
        )
        for clause in conditions {
            combined = .and(combined, clause.asExpression)
        }
        self.condition = combined
    }

    /// Whether the scope still has slots to fill by linking.
    public var isTemplate: Bool { principal.slot != nil || resource.slot != nil }

    /// The slots this template needs.
    public var slots: [SlotID] { [principal.slot, resource.slot].compactMap { $0 } }
}
