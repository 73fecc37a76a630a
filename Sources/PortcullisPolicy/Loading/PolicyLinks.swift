import Cedar
import Foundation

/// `links.json`: template-linked policies, for grants that tooling writes one per user or agent instead of a
/// policy file each:
///
/// ```json
/// [{"id": "alice-uses-support", "template": "user-uses-agent",
///   "principal": {"type": "User", "id": "https://idp.example|alice"}, "resource": {"type": "Agent", "id": "support"}}]
/// ```
enum PolicyLinks {
    private struct Link: Decodable {
        struct Reference: Decodable {
            let type: String
            let id: String
        }

        let id: String
        let template: String
        let principal: Reference?
        let resource: Reference?
    }

    static func apply(_ source: PolicyFiles.Source, to policies: inout PolicySet, origins: inout [PolicyID: String]) -> [PolicyProblem] {
        let links: [Link]
        do {
            links = try JSONDecoder().decode([Link].self, from: Data(source.text.utf8))
        } catch {
            return [PolicyProblem(file: source.name, message: "is not a JSON array of {id, template, principal?, resource?} links")]
        }
        var problems: [PolicyProblem] = []
        for (position, link) in links.enumerated() {
            var slots: [SlotID: EntityUID] = [:]
            if let principal = link.principal { slots[.principal] = EntityUID(type: EntityType(principal.type), id: principal.id) }
            if let resource = link.resource { slots[.resource] = EntityUID(type: EntityType(resource.type), id: resource.id) }
            do {
                try policies.link(templateId: PolicyID(link.template), newId: PolicyID(link.id), slots: slots)
                origins[PolicyID(link.id)] = source.name
            } catch {
                problems.append(PolicyProblem(file: source.name, message: "link #\(position + 1) ('\(link.id)'): \(error.message)"))
            }
        }
        return problems
    }
}
