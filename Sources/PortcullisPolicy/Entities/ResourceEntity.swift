import Cedar

/// The Cedar entity a resource stands for.
///
/// An agent, `Agent::"<runtime name>"`, is a member of the gateway and of one `AgentGroup::"<key>=<value>"` per
/// runtime tag; its tags are also entity tags. The tag `portcullis:groups` (space-separated group names) grants
/// the agent to those user groups: it becomes the attribute `grantedGroups`, a set of `Group` entities, so the
/// default policy can say `principal in resource.grantedGroups`.
enum ResourceEntity {
    /// The runtime tag whose value lists the user groups an agent is granted to.
    static let grantedGroupsTag = "portcullis:groups"

    static func uid(of resource: PolicyResource) -> EntityUID {
        switch resource {
        case .agent(let agent): EntityUID(type: PolicyEntityType.agent, id: agent.name)
        case .gateway: PolicyEntityType.gatewayUID
        case .credentialProvider(let name): EntityUID(type: PolicyEntityType.credentialProvider, id: name)
        }
    }

    /// The resource's entity; the gateway and its agent groups are named as parents.
    static func entity(of resource: PolicyResource) -> Entity {
        let uid = uid(of: resource)
        switch resource {
        case .gateway:
            return Entity(uid: uid)
        case .credentialProvider(let name):
            return Entity(uid: uid, attributes: ["name": .string(name)])
        case .agent(let agent):
            var attributes: [String: Value] = [
                "name": .string(agent.name),
                "jwtAuthorizer": .bool(agent.hasJWTAuthorizer),
                "grantedGroups": .set(Set(grantedGroups(agent.tags).map(Value.entity))),
            ]
            if let id = agent.id { attributes["id"] = .string(id) }
            if let arn = agent.arn { attributes["arn"] = .string(arn) }
            if let version = agent.version { attributes["version"] = .long(Int64(version)) }
            if let endpoint = agent.endpoint { attributes["endpoint"] = .string(endpoint) }
            if let serverProtocol = agent.serverProtocol { attributes["protocol"] = .string(serverProtocol) }
            var parents: Set<EntityUID> = [PolicyEntityType.gatewayUID]
            for (key, value) in agent.tags {
                parents.insert(EntityUID(type: PolicyEntityType.agentGroup, id: key + "=" + value))
            }
            let tags = agent.tags.mapValues(Value.string)
            return Entity(uid: uid, attributes: attributes, parents: parents, tags: tags)
        }
    }

    static func grantedGroups(_ tags: [String: String]) -> [EntityUID] {
        guard let value = tags[grantedGroupsTag] else { return [] }
        return value.split(whereSeparator: { $0 == " " }).map { EntityUID(type: PolicyEntityType.group, id: String($0)) }
    }
}
