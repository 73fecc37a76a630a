import NIOCore
import PortcullisCore
import PortcullisPolicy

/// The JSON-RPC calls in a request body to an MCP runtime, read by the gateway itself so policies see what the
/// agent will act on — never the `Mcp-Method`/`Mcp-Name` headers, which a client can set to anything.
///
/// Parsing is strict (duplicate keys, invalid UTF-8 and out-of-range numbers are refused), so the gateway and
/// the agent cannot read one body two ways.
enum MCPMessages {
    static let maxBatch = 100
    static let maxDepth = 64
    /// The JSON-RPC error code of a tool call the policies refuse (in the range JSON-RPC leaves to servers).
    static let accessDeniedCode = -32003

    /// A JSON-RPC request or notification: its call, and its id (nil for a notification).
    struct Message: Sendable {
        var call: MCPCall
        var id: JSONValue?
    }

    /// One message per JSON-RPC request or notification; responses (no `method`) carry no call.
    static func messages(in body: ByteBuffer) throws(AgentCoreError) -> [Message] {
        let document: JSONValue
        do {
            document = try StrictJSON.parse(Array(body.readableBytesView), maxDepth: maxDepth)
        } catch {
            throw AgentCoreError.cannotParse("The request to an MCP runtime must be JSON-RPC: \(error.reason)")
        }
        switch document {
        case .object(let message):
            return try self.message(message).map { [$0] } ?? []
        case .array(let messages):
            guard (1...maxBatch).contains(messages.count) else {
                throw AgentCoreError.cannotParse("A JSON-RPC batch to an MCP runtime must hold 1-\(maxBatch) messages")
            }
            var parsed: [Message] = []
            for message in messages {
                guard case .object(let members) = message else {
                    throw AgentCoreError.cannotParse("Every message of a JSON-RPC batch must be an object")
                }
                if let found = try self.message(members) { parsed.append(found) }
            }
            return parsed
        default:
            throw AgentCoreError.cannotParse("The request to an MCP runtime must be a JSON-RPC object or batch")
        }
    }

    private static func message(_ message: [String: JSONValue]) throws(AgentCoreError) -> Message? {
        guard let method = message["method"] else { return nil }
        guard case .string(let name) = method, !name.isEmpty, name.utf8.count <= 256 else {
            throw AgentCoreError.invalidField("method", "A JSON-RPC method must be a string of 1-256 bytes")
        }
        let id = message["id"]
        guard name == "tools/call" else { return Message(call: MCPCall(method: name), id: id) }
        guard case .object(let params)? = message["params"], case .string(let tool)? = params["name"], !tool.isEmpty, tool.utf8.count <= 256 else {
            throw AgentCoreError.invalidField("params.name", "tools/call needs the tool's name as a string of 1-256 bytes")
        }
        return Message(call: MCPCall(method: name, tool: tool), id: id)
    }

    /// The JSON-RPC answer to a request whose tool call the policies refused: the MCP session goes on, and the
    /// client (and the model behind it) learns that this tool is not available to it.
    static func accessDenied(id: JSONValue) -> ByteBuffer {
        let error: JSONValue = .object([
            "jsonrpc": .string("2.0"),
            "id": id,
            "error": .object([
                "code": .number(Double(accessDeniedCode)),
                "message": .string(AccessPolicy.deniedMessage),
                "data": .object(["type": .string(AgentCoreErrorCode.accessDenied.rawValue)]),
            ]),
        ])
        return ByteBuffer(bytes: error.serialized())
    }
}
