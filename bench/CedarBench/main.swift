import Cedar

/// Times parsing and authorization over a realistic gateway policy set:
/// 1,000 policies (per-agent tool grants, team grants, a few forbids, context conditions).

/// A small deterministic generator so runs are comparable.
struct SplitMix64 {
    var state: UInt64

    mutating func next(_ bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(bound))
    }
}

let agentCount = 100
let teamCount = 10
let toolCount = 200
let toolGroupCount = 20
let actions = ["call", "read", "write", "admin"]

/// The policy text, plus the (agent, action, tool) triples granted directly, to aim requests at.
func makePolicies() -> (text: String, grants: [(agent: Int, action: String, tool: Int)]) {
    var random = SplitMix64(state: 1)
    var text = ""
    var grants: [(agent: Int, action: String, tool: Int)] = []
    for index in 0..<900 {
        let agent = index % agentCount
        let action = actions[random.next(3)]
        if index % 3 == 0 {
            text += """
                @id("grant-\(index)")
                permit(principal == Agent::"agent-\(agent)", action == Action::"\(action)", resource in ToolGroup::"group-\(random.next(toolGroupCount))")
                when { context.risk < \(3 + random.next(5)) && context.ip.isInRange(ip("10.0.0.0/8")) };

                """
        } else {
            let tool = random.next(toolCount)
            grants.append((agent, action, tool))
            text += """
                permit(principal == Agent::"agent-\(agent)", action in [Action::"\(action)", Action::"read"], resource == Tool::"tool-\(tool)")
                when { context.authenticated } unless { resource.sensitive && context.risk > 7 };

                """
        }
    }
    for index in 0..<90 {
        text += """
            permit(principal in Team::"team-\(index % teamCount)", action == Action::"read", resource is Tool in ToolGroup::"group-\(index % toolGroupCount)")
            when { principal.level >= \(index % 4) };

            """
    }
    for index in 0..<10 {
        text += """
            forbid(principal, action == Action::"\(actions[index % actions.count])", resource)
            when { context has offHours && context.offHours && resource.sensitive && principal.level < \(index % 3 + 1) };

            """
    }
    return (text, grants)
}

func makeEntities() throws -> Entities {
    var entities: [Entity] = []
    for team in 0..<teamCount { entities.append(Entity(uid: EntityUID("Team", "team-\(team)"))) }
    for group in 0..<toolGroupCount { entities.append(Entity(uid: EntityUID("ToolGroup", "group-\(group)"))) }
    for agent in 0..<agentCount {
        entities.append(Entity(
            uid: EntityUID("Agent", "agent-\(agent)"),
            attributes: ["level": .long(Int64(agent % 5)), "owner": .string("owner-\(agent % 17)")],
            parents: [EntityUID("Team", "team-\(agent % teamCount)")]
        ))
    }
    for tool in 0..<toolCount {
        entities.append(Entity(
            uid: EntityUID("Tool", "tool-\(tool)"),
            attributes: ["sensitive": .bool(tool % 7 == 0)],
            parents: [EntityUID("ToolGroup", "group-\(tool % toolGroupCount)")]
        ))
    }
    for action in actions { entities.append(Entity(uid: EntityUID("Action", action))) }
    return try Entities(entities)
}

func percentile(_ sorted: [Duration], _ fraction: Double) -> Duration {
    sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
}

/// Non-negative `value` with `digits` decimals, without Foundation's formatter.
func fixed(_ value: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = Int(value * scale + 0.5)
    let whole = String(scaled / Int(scale))
    var fraction = String(scaled % Int(scale))
    while fraction.count < digits { fraction = "0" + fraction }
    return digits == 0 ? whole : whole + "." + fraction
}

func microseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
}

let clock = ContinuousClock()
let (source, grants) = makePolicies()
var parseTimes: [Duration] = []
var policies = PolicySet()
for _ in 0..<10 {
    let start = clock.now
    policies = try PolicySet(parsing: source, fileName: "bench.cedar")
    parseTimes.append(clock.now - start)
}
parseTimes.sort()
let entities = try makeEntities()

var random = SplitMix64(state: 42)
let ip: Value = .ipaddr(IPAddress(parsing: "10.1.2.3")!)
// Half the requests use a direct grant, half are random (and mostly denied).
let requests = (0..<1_000).map { index in
    let grant = grants[random.next(grants.count)]
    let aimed = index % 2 == 0
    return Request(
        principal: EntityUID("Agent", "agent-\(aimed ? grant.agent : random.next(agentCount))"),
        action: EntityUID("Action", aimed ? grant.action : actions[random.next(actions.count)]),
        resource: EntityUID("Tool", "tool-\(aimed ? grant.tool : random.next(toolCount))"),
        context: ["risk": .long(Int64(random.next(10))), "ip": ip, "authenticated": .bool(random.next(10) != 0), "offHours": .bool(random.next(4) == 0)]
    )
}

var allows = 0
var errors = 0
for request in requests {
    let response = Authorizer.isAuthorized(request, policies: policies, entities: entities)
    if response.decision == .allow { allows += 1 }
    errors += response.errors.count
}

let decisions = 100_000
var times: [Duration] = []
times.reserveCapacity(decisions)
let totalStart = clock.now
for index in 0..<decisions {
    let start = clock.now
    let response = Authorizer.isAuthorized(requests[index % requests.count], policies: policies, entities: entities)
    times.append(clock.now - start)
    if response.determiningPolicies.count > 1_000 { print("unexpected") }
}
let total = clock.now - totalStart
times.sort()

print("policies: \(policies.policies.count), entities: \(entities.count)")
print("parse 1,000 policies: median \(fixed(microseconds(parseTimes[5]) / 1000, 1)) ms, best \(fixed(microseconds(parseTimes[0]) / 1000, 1)) ms")
print("sample: \(allows)/\(requests.count) allowed, \(errors) evaluation errors")
print("\(decisions) decisions: mean \(fixed(microseconds(total) / Double(decisions), 2)) µs, "
    + "p50 \(fixed(microseconds(percentile(times, 0.5)), 2)) µs, "
    + "p99 \(fixed(microseconds(percentile(times, 0.99)), 2)) µs")
