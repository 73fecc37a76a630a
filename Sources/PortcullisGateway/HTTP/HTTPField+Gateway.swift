import HTTPTypes

extension HTTPField.Name {
    static let runtimeSessionId = HTTPField.Name("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id")!
    static let runtimeRequestId = HTTPField.Name("X-Amzn-Bedrock-AgentCore-Runtime-Request-Id")!
    static let runtimeUserId = HTTPField.Name("X-Amzn-Bedrock-AgentCore-Runtime-User-Id")!
    static let amznRequestId = HTTPField.Name("x-amzn-RequestId")!
    static let amznErrorType = HTTPField.Name("X-Amzn-ErrorType")!
    static let amznTraceId = HTTPField.Name("X-Amzn-Trace-Id")!
    static let mcpSessionId = HTTPField.Name("Mcp-Session-Id")!
    static let mcpProtocolVersion = HTTPField.Name("Mcp-Protocol-Version")!
    static let mcpMethod = HTTPField.Name("Mcp-Method")!
    static let mcpName = HTTPField.Name("Mcp-Name")!
    static let traceparent = HTTPField.Name("traceparent")!
    static let tracestate = HTTPField.Name("tracestate")!
    static let baggage = HTTPField.Name("baggage")!
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
    static let xForwardedProto = HTTPField.Name("X-Forwarded-Proto")!
    static let xForwardedHost = HTTPField.Name("X-Forwarded-Host")!
    static let wwwAuthenticate = HTTPField.Name("WWW-Authenticate")!
}
