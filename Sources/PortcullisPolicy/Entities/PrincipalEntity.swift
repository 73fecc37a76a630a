import Cedar
import PortcullisCore

/// The Cedar entity a principal stands for; a user names its groups and tenant as parents.
///
/// Users (`User::"<iss>|<sub>"`) carry the normalised identity as attributes and every raw token claim as an
/// entity tag (`principal.getTag("department")`); tag values are strings — string claims as they are, any other
/// claim as its compact JSON — so one schema type fits them all. API keys and access keys carry their name,
/// agent scope and flags.
enum PrincipalEntity {
    static func uid(of principal: Principal) -> EntityUID {
        switch principal.method {
        case .jwt: EntityUID(type: PolicyEntityType.user, id: principal.id)
        case .apiKey: EntityUID(type: PolicyEntityType.apiKey, id: credentialId(principal, prefix: "apikey:"))
        case .sigV4: EntityUID(type: PolicyEntityType.accessKey, id: credentialId(principal, prefix: "accesskey:"))
        case .workload: EntityUID(type: PolicyEntityType.workload, id: credentialId(principal, prefix: "workload:"))
        }
    }

    /// The principal's entity; its groups and tenant are named as parents.
    static func entity(of principal: Principal) -> Entity {
        let uid = uid(of: principal)
        switch principal.method {
        case .jwt:
            return userEntity(principal, uid: uid)
        case .workload:
            var attributes: [String: Value] = ["name": .string(principal.displayName)]
            if let agent = principal.agentName { attributes["agent"] = .string(agent) }
            return Entity(uid: uid, attributes: attributes)
        case .apiKey, .sigV4:
            let attributes: [String: Value] = [
                "name": .string(principal.displayName),
                "administrator": .bool(principal.isAdministrator),
                "agents": .set(Set(principal.agentScope.names.filter { $0 != "*" }.map(Value.string))),
                "allAgents": .bool(principal.agentScope == .all),
                "actsForUsers": .bool(principal.mayActForUsers),
            ]
            return Entity(uid: uid, attributes: attributes)
        }
    }

    private static func userEntity(_ principal: Principal, uid: EntityUID) -> Entity {
        var attributes: [String: Value] = [
            "issuer": .string(principal.issuer ?? ""),
            "issuerName": .string(principal.issuerName ?? ""),
            "subject": .string(principal.subject ?? ""),
            "displayName": .string(principal.displayName),
            "groups": .set(Set(principal.groups.map(Value.string))),
            "groupsComplete": .bool(!principal.groupsIncomplete),
            "scopes": .set(Set(principal.scopes.map(Value.string))),
            "audiences": .set(Set(principal.audiences.map(Value.string))),
            "administrator": .bool(principal.isAdministrator),
        ]
        if let tenant = principal.tenant { attributes["tenant"] = .string(tenant) }
        if let clientId = principal.clientId { attributes["clientId"] = .string(clientId) }
        var tags: [String: Value] = [:]
        for (name, claim) in principal.claims {
            tags[name] = .string(tagText(claim))
        }
        var parents = Set(principal.groups.map { EntityUID(type: PolicyEntityType.group, id: $0) })
        if let tenant = principal.tenant { parents.insert(EntityUID(type: PolicyEntityType.tenant, id: tenant)) }
        return Entity(uid: uid, attributes: attributes, parents: parents, tags: tags)
    }

    /// A claim as a tag value: strings unchanged, anything else as compact JSON.
    static func tagText(_ claim: JSONValue) -> String {
        if case .string(let text) = claim { return text }
        return String(decoding: claim.serialized(), as: UTF8.self)
    }

    private static func credentialId(_ principal: Principal, prefix: String) -> String {
        principal.id.hasPrefix(prefix) ? String(principal.id.dropFirst(prefix.count)) : principal.id
    }
}
