/// A set of policies and templates, indexed by scope for fast authorization.
///
/// Ids: by default policies are named `policy0`, `policy1`, … in file order, counting templates,
/// which is what Cedar's own parser and its conformance tests do; `@id` stays an annotation.
/// With `.idAnnotation`, a policy's `@id("x")` becomes its id instead.
public struct PolicySet: Sendable {
    /// How parsed policies get their ids.
    public enum Naming: Sendable {
        /// `policy0`, `policy1`, … in file order.
        case sequential
        /// The `@id` annotation when present, otherwise the sequential name.
        case idAnnotation
        /// The `@id` annotation when present, otherwise the sequential name after `prefix` (`prefix` + `policy3`),
        /// so policies from several files can share one set.
        case idAnnotationOrPrefixed(String)
    }

    /// The static and linked policies, in the order they were added.
    public private(set) var policies: [Policy] = []
    /// The templates, in the order they were added.
    public private(set) var templates: [Policy] = []
    private(set) var index = PolicyIndex()
    private var ids: Set<PolicyID> = []

    /// An empty policy set.
    public init() {}

    /// Parses policy text; templates (policies with `?principal` or `?resource`) are kept apart.
    public init(parsing text: String, fileName: String = "<policies>", naming: Naming = .sequential) throws(CedarParseError) {
        var parser = try PolicyParser(text: text, fileName: fileName)
        for (position, parsed) in try parser.parsePolicies().enumerated() {
            var id = PolicyID("policy\(position)")
            switch naming {
            case .sequential:
                break
            case .idAnnotation:
                if let annotated = parsed.annotations["id"] { id = PolicyID(annotated) }
            case .idAnnotationOrPrefixed(let prefix):
                id = PolicyID(parsed.annotations["id"] ?? prefix + id.rawValue)
            }
            let policy = Policy(
                id: id, effect: parsed.effect, annotations: parsed.annotations, principal: parsed.principal,
                action: parsed.action, resource: parsed.resource, conditions: parsed.conditions,
                templateID: nil, location: parsed.location, endLocation: parsed.endLocation
            )
            do {
                try add(policy)
            } catch {
                throw CedarParseError(code: .duplicatePolicyID, fileName: fileName, location: parsed.location, message: error.message)
            }
        }
    }

    /// The policy, linked policy, or template with this id.
    public subscript(id: PolicyID) -> Policy? {
        policies.first { $0.id == id } ?? templates.first { $0.id == id }
    }

    /// Adds every policy and template of `other`, in its order; fails on the first id both sets use.
    public mutating func formUnion(_ other: PolicySet) throws(PolicySetError) {
        for template in other.templates { try add(template) }
        for policy in other.policies { try add(policy) }
    }

    /// Adds a static policy or a template.
    public mutating func add(_ policy: Policy) throws(PolicySetError) {
        guard ids.insert(policy.id).inserted else {
            throw PolicySetError(code: .duplicatePolicyID, message: "a policy with id '\(policy.id)' already exists")
        }
        if policy.isTemplate {
            templates.append(policy)
        } else {
            index.insert(policy, at: policies.count)
            policies.append(policy)
        }
    }
}
