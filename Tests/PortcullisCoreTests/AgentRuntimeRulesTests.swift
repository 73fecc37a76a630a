import Foundation
@testable import PortcullisCore
import Testing

@Suite("Agent runtime rules and the error envelope")
struct AgentRuntimeRulesTests {
    @Test("header allowlists")
    func allowlists() throws {
        try AgentRuntimeRules.validateHeaderAllowlist(["X-Tenant-Id", "X-Amzn-Bedrock-AgentCore-Runtime-Custom-A"], allowsAuthorization: false)
        try AgentRuntimeRules.validateHeaderAllowlist(["Authorization"], allowsAuthorization: true)
        for bad in [[], ["Authorization"], ["X-Amz-Date"], ["x-amzn-other"], ["Host"], ["Cookie"], ["X-Forwarded-For"], ["Sec-WebSocket-Key"], ["a b"], ["X-A", "x-a"], (0..<21).map { "X-H\($0)" }] {
            #expect(throws: AgentCoreError.self, "\(bad)") {
                try AgentRuntimeRules.validateHeaderAllowlist(bad, allowsAuthorization: false)
            }
        }
    }

    @Test("endpoint URLs, environment, lifecycle and protocol overrides")
    func otherRules() throws {
        try AgentRuntimeRules.validateEndpointURL("http://127.0.0.1:9000", field: "f")
        try AgentRuntimeRules.validateEndpointURL("https://agents.internal/base", field: "f")
        for bad in ["ftp://x", "http://", "http://u:p@h", "http://h/?q=1", "http://h/#f", "not a url"] {
            #expect(throws: AgentCoreError.self, "\(bad)") { try AgentRuntimeRules.validateEndpointURL(bad, field: "f") }
        }
        try AgentRuntimeRules.validateEnvironment(["A_1": "x", "_B": String(repeating: "v", count: 5000)])
        #expect(throws: AgentCoreError.self) { try AgentRuntimeRules.validateEnvironment(["A-B": "x"]) }
        #expect(throws: AgentCoreError.self) { try AgentRuntimeRules.validateEnvironment(["A": String(repeating: "v", count: 5001)]) }
        #expect(throws: AgentCoreError.self) {
            try AgentRuntimeRules.validateEnvironment(Dictionary(uniqueKeysWithValues: (0..<51).map { ("V\($0)", "x") }))
        }
        #expect(try LifecycleConfiguration.validated(idle: nil, maxLifetime: nil, field: "l") == LifecycleConfiguration())
        #expect(try LifecycleConfiguration.validated(idle: nil, maxLifetime: 300, field: "l") == LifecycleConfiguration(idleRuntimeSessionTimeout: 300, maxLifetime: 300))
        #expect(throws: AgentCoreError.self) { try LifecycleConfiguration.validated(idle: 59, maxLifetime: nil, field: "l") }
        #expect(throws: AgentCoreError.self) { try LifecycleConfiguration.validated(idle: 600, maxLifetime: 300, field: "l") }
        #expect(throws: AgentCoreError.self) { try LifecycleConfiguration.validated(idle: nil, maxLifetime: 28_801, field: "l") }
        try AgentRuntimeRules.validateProtocol(ProtocolConfiguration(serverProtocol: .mcp, port: 8000, path: "/mcp"))
        #expect(throws: AgentCoreError.self) { try AgentRuntimeRules.validateProtocol(ProtocolConfiguration(port: 8443)) }
        #expect(throws: AgentCoreError.self) { try AgentRuntimeRules.validateProtocol(ProtocolConfiguration(port: AgentRuntimeRules.sandboxEndpointPort)) }
        #expect(throws: AgentCoreError.self) { try AgentRuntimeRules.validateProtocol(ProtocolConfiguration(path: "mcp")) }
        #expect(ProtocolConfiguration(serverProtocol: .a2a).invocationPath == "/")
        #expect(ProtocolConfiguration(serverProtocol: .mcp).invocationPath == "/mcp")
    }

    @Test("the envelope carries __type, message and, for validation errors, reason and fieldList")
    func envelope() throws {
        let error = AgentCoreError.invalidField("qualifier", "bad")
        let body = try #require(try JSONSerialization.jsonObject(with: error.envelopeJSON()) as? [String: Any])
        #expect(body["__type"] as? String == "ValidationException")
        #expect(body["reason"] as? String == "FieldValidationFailed")
        #expect((body["fieldList"] as? [[String: String]])?.first?["name"] == "qualifier")
        let denied = try #require(try JSONSerialization.jsonObject(with: AgentCoreError(.accessDenied, "no").envelopeJSON()) as? [String: Any])
        #expect(denied.keys.sorted() == ["__type", "message"])
        #expect(AgentCoreErrorCode.serviceQuotaExceeded.httpStatus == 402)
        #expect(AgentCoreErrorCode.runtimeClientError.httpStatus == 424)
        #expect(AgentCoreErrorCode.retryableConflict.httpStatus == 409)
    }
}
