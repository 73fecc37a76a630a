import Cedar
import Foundation
import PortcullisCore
@testable import PortcullisPolicy

/// Principals, agents and directories the policy tests share.
enum PolicyFixtures {
    /// The repository's `policies/` directory: the default set the gateway ships.
    static let shippedPolicies: String = {
        var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
            directory = directory.deletingLastPathComponent()
        }
        return directory.appendingPathComponent("policies").path
    }()

    static let noon = Date(timeIntervalSince1970: 1_764_676_800)  // 2025-12-02T12:00:00Z

    static func user(_ subject: String, groups: [String] = [], admin: Bool = false, claims: [String: JSONValue] = [:]) -> Principal {
        Principal(
            method: .jwt, id: "https://idp.example|\(subject)", displayName: subject, issuer: "https://idp.example",
            issuerName: "idp", subject: subject, clientId: "web", groups: groups, scopes: ["openid", "agents:invoke"],
            audiences: ["portcullis"], agentScope: .all, isAdministrator: admin, claims: claims
        )
    }

    static func apiKey(_ id: String, agents: AgentScope, admin: Bool = false) -> Principal {
        Principal(method: .apiKey, id: "apikey:\(id)", displayName: "key \(id)", agentScope: agents, isAdministrator: admin)
    }

    static func accessKey(_ id: String, agents: AgentScope, admin: Bool = false) -> Principal {
        Principal(method: .sigV4, id: "accesskey:\(id)", displayName: "access key \(id)", agentScope: agents, isAdministrator: admin)
    }

    static func agent(_ name: String, tags: [String: String] = [:], jwt: Bool = false, serverProtocol: String = "HTTP") -> PolicyResource {
        .agent(AgentFacts(
            name: name, id: "\(name)-a1b2c3d4e5", arn: "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/\(name)-a1b2c3d4e5",
            version: 1, endpoint: "DEFAULT", serverProtocol: serverProtocol, hasJWTAuthorizer: jwt, tags: tags
        ))
    }

    static func request(
        _ principal: Principal, _ action: GatewayAction, _ resource: PolicyResource,
        at time: Date = noon, from address: String? = "10.1.2.3", mcp: MCPCall? = nil, headers: [String: String] = [:]
    ) -> AuthorizationRequest {
        AuthorizationRequest(
            principal: principal, action: action, resource: resource,
            context: RequestConditions(sourceAddress: address, time: time, sessionId: nil, headers: headers, mcp: mcp)
        )
    }

    /// A fresh directory holding the shipped set plus `extra` files (name → text).
    static func directory(withShipped: Bool = true, _ extra: [String: String] = [:]) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("policies-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if withShipped {
            for name in try FileManager.default.contentsOfDirectory(atPath: shippedPolicies) where name.hasSuffix(".cedar") || name.hasSuffix(".cedarschema") {
                try FileManager.default.copyItem(atPath: shippedPolicies + "/" + name, toPath: directory.appendingPathComponent(name).path)
            }
        }
        for (name, text) in extra {
            let url = directory.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        return directory
    }

    static func engine(_ extra: [String: String] = [:], withShipped: Bool = true) throws -> PolicyEngine {
        let directory = try directory(withShipped: withShipped, extra)
        defer { try? FileManager.default.removeItem(at: directory) }
        return PolicyEngine(try PolicyBundle.compile(try PolicyFiles.read(directory: directory.path)))
    }
}
