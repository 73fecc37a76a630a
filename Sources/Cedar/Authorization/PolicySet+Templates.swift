extension PolicySet {
    /// Links a template into a new policy, filling its slots with entities.
    ///
    /// Every slot of the template must be given, and no others.
    public mutating func link(templateId: PolicyID, newId: PolicyID, slots: [SlotID: EntityUID]) throws(PolicySetError) {
        guard let template = templates.first(where: { $0.id == templateId }) else {
            if policies.contains(where: { $0.id == templateId }) {
                throw PolicySetError(code: .notATemplate, message: "'\(templateId)' is a static policy, not a template")
            }
            throw PolicySetError(code: .unknownTemplate, message: "no template with id '\(templateId)'")
        }
        for slot in template.slots where slots[slot] == nil {
            throw PolicySetError(code: .missingSlot, message: "template '\(templateId)' needs a value for \(slot.rawValue)")
        }
        for slot in slots.keys where !template.slots.contains(slot) {
            throw PolicySetError(code: .unexpectedSlot, message: "template '\(templateId)' has no slot \(slot.rawValue)")
        }
        let principal = slots[.principal].map { template.principal.linking($0) } ?? template.principal
        let resource = slots[.resource].map { template.resource.linking($0) } ?? template.resource
        let linked = Policy(
            id: newId, effect: template.effect, annotations: template.annotations, principal: principal,
            action: template.action, resource: resource, conditions: template.conditions,
            templateID: templateId, location: template.location, endLocation: template.endLocation
        )
        try add(linked)
    }
}
