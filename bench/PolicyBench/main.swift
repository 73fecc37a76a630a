import Cedar
import Foundation
import PortcullisCore
import PortcullisPolicy

/// What one gateway request spends in authorization: building the Cedar entities and context from a principal
/// and an agent, deciding with the shipped `policies/`, and writing the request JSON the decision log keeps.
///
///     swift run -c release --scratch-path .build-release PolicyBench [POLICY_DIRECTORY]

let directory = CommandLine.arguments.dropFirst().first ?? "policies"
let engine = PolicyEngine(try PolicyBundle.compile(try PolicyFiles.read(directory: directory)))
let now = Date()
let agent = PolicyResource.agent(AgentFacts(
    name: "support", id: "support-a1b2c3d4e5", arn: "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/support-a1b2c3d4e5",
    version: 3, endpoint: "DEFAULT", serverProtocol: "HTTP", hasJWTAuthorizer: true,
    tags: ["team": "support", "portcullis:groups": "support engineering"]
))
var claims: [String: JSONValue] = [
    "iss": .string("https://idp.example.com"), "sub": .string("00u1abcd"), "aud": .string("api://portcullis"),
    "scp": .array([.string("agents:invoke"), .string("openid")]), "groups": .array([.string("support"), .string("everyone")]),
    "cid": .string("0oa1web"), "exp": .number(now.timeIntervalSince1970 + 3600), "iat": .number(now.timeIntervalSince1970),
]
for index in 0..<12 { claims["custom_\(index)"] = .string("value \(index)") }
let user = Principal(
    method: .jwt, id: "https://idp.example.com|00u1abcd", displayName: "Eve", issuer: "https://idp.example.com", issuerName: "okta",
    subject: "00u1abcd", clientId: "0oa1web", groups: ["support", "everyone"], scopes: ["agents:invoke", "openid"],
    audiences: ["api://portcullis"], agentScope: .all, claims: claims
)
let key = Principal(method: .apiKey, id: "apikey:k1a2b3c4d5e6", displayName: "support-bot", agentScope: .named(["support"]))
let conditions = RequestConditions(
    sourceAddress: "10.1.2.3", time: now, sessionId: "a8f3c1d2-0000-4000-8000-1234567890ab1234",
    headers: ["x-amzn-bedrock-agentcore-runtime-custom-tenant": "acme"]
)

func measure(_ label: String, iterations: Int = 200_000, _ body: () -> Int) {
    var sink = 0
    for _ in 0..<(iterations / 10) { sink &+= body() }
    var samples: [Double] = []
    samples.reserveCapacity(iterations)
    let clock = ContinuousClock()
    for _ in 0..<iterations {
        let start = clock.now
        sink &+= body()
        let elapsed = clock.now - start
        samples.append(Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6)
    }
    samples.sort()
    let mean = samples.reduce(0, +) / Double(samples.count)
    print(label.padding(toLength: 44, withPad: " ", startingAt: 0)
        + String(format: "mean %6.2f µs   p50 %6.2f µs   p99 %6.2f µs", mean, samples[samples.count / 2], samples[samples.count * 99 / 100])
        + (sink == 42 ? " " : ""))
}

print("policy set: \(directory), \(engine.current.policies.policies.count) policies")
measure("API key: decide") {
    engine.authorize(AuthorizationRequest(principal: key, action: .invokeAgent, resource: agent, context: conditions)).isAllowed ? 1 : 0
}
measure("API key: decide + request JSON for the log") {
    engine.authorize(AuthorizationRequest(principal: key, action: .invokeAgent, resource: agent, context: conditions)).requestJSON.utf8.count
}
measure("user, 20 claims: decide") {
    engine.authorize(AuthorizationRequest(principal: user, action: .invokeAgent, resource: agent, context: conditions)).isAllowed ? 1 : 0
}
measure("user, 20 claims: decide + request JSON") {
    engine.authorize(AuthorizationRequest(principal: user, action: .invokeAgent, resource: agent, context: conditions)).requestJSON.utf8.count
}
measure("user, 20 claims: decide + request + entities", iterations: 50_000) {
    let decision = engine.authorize(AuthorizationRequest(principal: user, action: .invokeAgent, resource: agent, context: conditions))
    return decision.requestJSON.utf8.count + decision.entitiesJSON.utf8.count
}
