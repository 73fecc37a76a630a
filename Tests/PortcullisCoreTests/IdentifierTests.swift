@testable import PortcullisCore
import Testing

@Suite("Identifiers, ARNs and encodings")
struct IdentifierTests {
    let names = ResourceNames(region: "us-west-2", accountId: "123456789012")

    @Test("runtime targets: full ARNs of this gateway or bare ids, nothing else")
    func runtimeTargets() {
        #expect(names.runtimeId(fromTarget: "arn:aws:bedrock-agentcore:us-west-2:123456789012:runtime/agent-AbCdEf1234", accountId: nil) == "agent-AbCdEf1234")
        #expect(names.runtimeId(fromTarget: "agent-AbCdEf1234", accountId: "123456789012") == "agent-AbCdEf1234")
        #expect(names.runtimeId(fromTarget: "agent-AbCdEf1234", accountId: nil) == "agent-AbCdEf1234")
        #expect(names.runtimeId(fromTarget: "agent-AbCdEf1234", accountId: "000000000000") == nil)
        #expect(names.runtimeId(fromTarget: "arn:aws:bedrock-agentcore:eu-west-1:123456789012:runtime/agent-AbCdEf1234", accountId: nil) == nil)
        #expect(names.runtimeId(fromTarget: "arn:aws:bedrock-agentcore:us-west-2:999999999999:runtime/agent-AbCdEf1234", accountId: nil) == nil)
        #expect(names.runtimeId(fromTarget: "arn:aws:s3:us-west-2:123456789012:runtime/agent-AbCdEf1234", accountId: nil) == nil)
        #expect(names.runtimeId(fromTarget: "arn:aws:bedrock-agentcore:us-west-2:123456789012:runtime/agent-short", accountId: nil) == nil)
        #expect(names.runtimeId(fromTarget: "arn:aws:bedrock-agentcore:us-west-2:123456789012:agent/agent-AbCdEf1234", accountId: nil) == nil)
        #expect(names.runtimeId(fromTarget: "../../etc/passwd", accountId: nil) == nil)
    }

    @Test("ARN formats match the real service")
    func arnFormats() {
        #expect(names.runtimeARN(runtimeId: "a-0123456789") == "arn:aws:bedrock-agentcore:us-west-2:123456789012:runtime/a-0123456789")
        #expect(names.runtimeEndpointARN(runtimeId: "a-0123456789", endpointName: "prod")
            == "arn:aws:bedrock-agentcore:us-west-2:123456789012:runtime/a-0123456789/runtime-endpoint/prod")
        #expect(names.workloadIdentityARN(name: "w")
            == "arn:aws:bedrock-agentcore:us-west-2:123456789012:workload-identity-directory/default/workload-identity/w")
    }

    @Test("names, runtime ids and session ids")
    func formats() {
        #expect(AgentRuntimeIdentifier.isValidName("a"))
        #expect(AgentRuntimeIdentifier.isValidName("Agent_1"))
        #expect(!AgentRuntimeIdentifier.isValidName("1agent"))
        #expect(!AgentRuntimeIdentifier.isValidName("agent-1"))
        #expect(!AgentRuntimeIdentifier.isValidName(Substring(String(repeating: "a", count: 49))))
        let id = AgentRuntimeIdentifier.makeRuntimeId(name: "agent")
        #expect(AgentRuntimeIdentifier.isValidRuntimeId(Substring(id)))
        #expect(id != AgentRuntimeIdentifier.makeRuntimeId(name: "agent"))
        #expect(!AgentRuntimeIdentifier.isValidRuntimeId("agent-12345"))
        #expect(!AgentRuntimeIdentifier.isValidRuntimeId("agent-12345678!0"))
        #expect(RuntimeSessionId.isValid(RuntimeSessionId.generate()))
        #expect(!RuntimeSessionId.isValid(String(repeating: "a", count: 32)))
        #expect(RuntimeSessionId.isValid(String(repeating: "a", count: 33)))
        #expect(RuntimeSessionId.isValid(String(repeating: "a", count: 256)))
        #expect(!RuntimeSessionId.isValid(String(repeating: "a", count: 257)))
        #expect(!RuntimeSessionId.isValid("a" + String(repeating: "/", count: 40)))
    }

    @Test("UUIDs and random strings come from the CSPRNG with the right shape")
    func randomness() {
        let uuid = SecureRandom.uuid()
        #expect(uuid.count == 36)
        #expect(Array(uuid)[14] == "4")
        #expect("89ab".contains(Array(uuid)[19]))
        let samples = Set((0..<1000).map { _ in SecureRandom.alphanumeric(10) })
        #expect(samples.count == 1000)
        #expect(SecureRandom.base32(12).allSatisfy { "abcdefghijklmnopqrstuvwxyz234567".contains($0) })
        #expect(SecureRandom.bytes(33).count == 33)
    }

    @Test("percent-decoding is strict and encoding produces one path segment")
    func percentEncoding() {
        #expect(PercentEncoding.decode("arn%3Aaws%2Fx") == "arn:aws/x")
        #expect(PercentEncoding.decode("a+b", plusAsSpace: true) == "a b")
        #expect(PercentEncoding.decode("a+b") == "a+b")
        #expect(PercentEncoding.decode("%ZZ") == nil)
        #expect(PercentEncoding.decode("%4") == nil)
        #expect(PercentEncoding.decode("%FF") == nil, "not UTF-8")
        let arn = "arn:aws:bedrock-agentcore:us-west-2:123456789012:runtime/a-0123456789"
        let encoded = PercentEncoding.encodeSegment(arn)
        #expect(!encoded.contains("/") && !encoded.contains(":"))
        #expect(PercentEncoding.decode(Substring(encoded)) == arn)
    }

    @Test("constant-time comparison")
    func constantTime() {
        #expect(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2]))
    }
}
