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
    /// The credential-provider tag whose value lists the agents (runtime names, or `*`) that may use it.
    static let grantedAgentsTag = "portcullis:agents"
    /// The credential-provider tag whose value lists the workload identities (or `*`) that may use it.
    static let grantedWorkloadsTag = "portcullis:workloads"

    static func uid(of resource: PolicyResource) -> EntityUID {
        switch resource {
        case .agent(let agent): EntityUID(type: PolicyEntityType.agent, id: agent.name)
        case .gateway: PolicyEntityType.gatewayUID
        case .credentialProvider(let provider): EntityUID(type: PolicyEntityType.credentialProvider, id: provider.name)
        case .workload(let workload): EntityUID(type: PolicyEntityType.workload, id: workload.name)
        }
    }

    /// The resource's entity; the gateway and its agent groups are named as parents.
    static func entity(of resource: PolicyResource) -> Entity {
        let uid = uid(of: resource)
        switch resource {
        case .gateway:
            return Entity(uid: uid)
        case .credentialProvider(let provider):
            var attributes: [String: Value] = [
                "name": .string(provider.name),
                "kind": .string(provider.kind),
                "agents": .set(Set(words(provider.tags[grantedAgentsTag]).map(Value.string))),
                "workloads": .set(Set(words(provider.tags[grantedWorkloadsTag]).map(Value.string))),
            ]
            if let vendor = provider.vendor { attributes["vendor"] = .string(vendor) }
            return Entity(uid: uid, attributes: attributes, tags: provider.tags.mapValues(Value.string))
        case .workload(let workload):
            var attributes: [String: Value] = ["name": .string(workload.name)]
            if let agent = workload.agentName { attributes["agent"] = .string(agent) }
            return Entity(uid: uid, attributes: attributes)
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
        words(tags[grantedGroupsTag]).map { EntityUID(type: PolicyEntityType.group, id: $0) }
    }

    /// A space-separated tag value's words.
    static func words(_ value: String?) -> [String] {
        value?.split(whereSeparator: { $0 == " " }).map(String.init) ?? []
    }
}
