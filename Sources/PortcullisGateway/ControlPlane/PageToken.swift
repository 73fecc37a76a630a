import Foundation
import PortcullisCore

/// Opaque `nextToken` values: the position after which the next page starts, base64url-encoded so clients treat
/// it as opaque.
enum PageToken {
    static func encode(_ position: String) -> String {
        Data(position.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ token: String?) throws(AgentCoreError) -> String? {
        guard let token else { return nil }
        guard (1...2048).contains(token.count) else { throw invalid }
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let position = String(data: data, encoding: .utf8), !position.isEmpty else {
            throw invalid
        }
        return position
    }

    /// `maxResults` from the query: 1–100, default 100.
    static func pageSize(_ text: String?, maximum: Int = 100) throws(AgentCoreError) -> Int {
        guard let text else { return maximum }
        guard let value = Int(text), (1...maximum).contains(value) else {
            throw AgentCoreError.invalidField("maxResults", "Member must have value between 1 and \(maximum)")
        }
        return value
    }

    /// A list response: the first `limit` items under `member`, and a `nextToken` when one more item was fetched
    /// (callers ask the store for `limit + 1`).
    static func page<Item>(
        _ items: [Item],
        limit: Int,
        member: String,
        position: (Item) -> String,
        shape: (Item) -> JSONValue
    ) -> JSONValue {
        let shown = items.prefix(limit)
        var members: [String: JSONValue] = [member: .array(shown.map(shape))]
        if items.count > limit, let last = shown.last {
            members["nextToken"] = .string(encode(position(last)))
        }
        return .object(members)
    }

    private static var invalid: AgentCoreError { AgentCoreError.invalidField("nextToken", "The pagination token is not valid") }
}
