import Foundation
import Logging
@testable import PortcullisCore
@testable import PortcullisStore
import Testing

@Suite("SQLite store")
struct SQLiteStoreTests {
    static func withStore<T>(_ body: (SQLiteStore, String) async throws -> T) async throws -> T {
        let directory = NSTemporaryDirectory() + "portcullis-store-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/data/portcullis.sqlite"
        return try await body(try SQLiteStore(path: path, logger: Logger(label: "test")), path)
    }

    static func configuration(_ url: String) -> AgentRuntimeConfiguration {
        AgentRuntimeConfiguration(artifact: .endpoint(url: url), roleArn: "arn:aws:iam::123456789012:role/r", description: url)
    }

    static func runtime(_ name: String) -> (AgentRuntime, AgentRuntimeVersion, AgentRuntimeEndpoint) {
        let id = AgentRuntimeIdentifier.makeRuntimeId(name: name)
        let now = Date(timeIntervalSince1970: 1_700_000_000.25)
        return (
            AgentRuntime(id: id, name: name, latestVersion: 1, status: .ready, createdAt: now, lastUpdatedAt: now, tags: ["t": "v"]),
            AgentRuntimeVersion(runtimeId: id, version: 1, configuration: configuration("http://127.0.0.1:1"), status: .ready, createdAt: now),
            AgentRuntimeEndpoint(runtimeId: id, name: "DEFAULT", id: AgentRuntimeIdentifier.makeRuntimeId(name: "DEFAULT"), liveVersion: 1, targetVersion: 1, status: .ready, createdAt: now, lastUpdatedAt: now)
        )
    }

    @Test("runtimes, versions and endpoints round-trip; appending a version moves DEFAULT")
    func registry() async throws {
        try await Self.withStore { store, path in
            let (runtime, version, endpoint) = Self.runtime("alpha")
            try await store.createRuntime(runtime, firstVersion: version, defaultEndpoint: endpoint)
            #expect(try await store.runtime(id: runtime.id) == runtime)
            #expect(try await store.runtime(named: "alpha") == runtime)
            #expect(try await store.version(runtimeId: runtime.id, version: 1) == version)
            await #expect(throws: StoreError.conflict("An agent runtime named alpha already exists")) {
                let (other, otherVersion, otherEndpoint) = Self.runtime("alpha")
                try await store.createRuntime(other, firstVersion: otherVersion, defaultEndpoint: otherEndpoint)
            }

            let pinned = AgentRuntimeEndpoint(
                runtimeId: runtime.id, name: "stable", id: "stable-0123456789", liveVersion: 1, targetVersion: 1,
                status: .ready, createdAt: runtime.createdAt, lastUpdatedAt: runtime.createdAt
            )
            try await store.createEndpoint(pinned)
            let appended = try #require(try await store.appendVersion(runtimeId: runtime.id, configuration: Self.configuration("http://127.0.0.1:2"), status: .ready, at: Date()))
            #expect(appended.0.latestVersion == 2)
            #expect(appended.1.version == 2)
            #expect(try await store.endpoint(runtimeId: runtime.id, name: "DEFAULT")?.liveVersion == 2)
            #expect(try await store.endpoint(runtimeId: runtime.id, name: "stable")?.liveVersion == 1)
            #expect(try await store.versions(runtimeId: runtime.id, before: nil, limit: 10).map(\.version) == [2, 1])
            #expect(try await store.versions(runtimeId: runtime.id, before: 2, limit: 10).map(\.version) == [1])
            #expect(try await store.endpoints(runtimeId: runtime.id, after: nil, limit: 10).map(\.name) == ["DEFAULT", "stable"])
            #expect(try await store.endpointCount(runtimeId: runtime.id) == 2)
            #expect(try await store.appendVersion(runtimeId: "missing-0123456789", configuration: Self.configuration("x"), status: .ready, at: Date()) == nil)

            let (second, secondVersion, secondEndpoint) = Self.runtime("beta")
            try await store.createRuntime(second, firstVersion: secondVersion, defaultEndpoint: secondEndpoint)
            let firstPage = try await store.runtimes(after: nil, limit: 1)
            let secondPage = try await store.runtimes(after: firstPage.last?.id, limit: 1)
            #expect(Set((firstPage + secondPage).map(\.name)) == ["alpha", "beta"])

            #expect(try await store.deleteRuntime(id: runtime.id))
            #expect(try await store.runtime(id: runtime.id) == nil)
            #expect(try await store.version(runtimeId: runtime.id, version: 1) == nil, "versions go with the runtime")
            #expect(try await store.endpoint(runtimeId: runtime.id, name: "stable") == nil)
            #expect(try await store.deleteRuntime(id: runtime.id) == false)

            // The database survives a reopen, and its file is private to its owner.
            let reopened = try SQLiteStore(path: path, logger: Logger(label: "test"))
            #expect(try await reopened.runtime(named: "beta") == second)
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
            try await reopened.checkHealth()
        }
    }

    @Test("API keys store hashes only, revocation keeps the first time, use is recorded")
    func apiKeys() async throws {
        try await Self.withStore { store, path in
            let record = APIKeyRecord(id: "abcdefghijkl", name: "ci", secretHash: Array(repeating: 7, count: 32), agentScope: .named(["a", "b"]), isAdministrator: false, createdAt: Date(timeIntervalSince1970: 1000))
            try await store.insertAPIKey(record)
            #expect(try await store.apiKey(id: "abcdefghijkl") == record)
            #expect(try await store.revokeAPIKey(id: "abcdefghijkl", at: Date(timeIntervalSince1970: 2000)))
            #expect(try await store.revokeAPIKey(id: "abcdefghijkl", at: Date(timeIntervalSince1970: 3000)))
            #expect(try await store.apiKey(id: "abcdefghijkl")?.revokedAt == Date(timeIntervalSince1970: 2000))
            #expect(try await store.revokeAPIKey(id: "zzzzzzzzzzzz", at: Date()) == false)
            try await store.recordAPIKeyUse(ids: ["abcdefghijkl"], at: Date(timeIntervalSince1970: 4000))
            #expect(try await store.apiKey(id: "abcdefghijkl")?.lastUsedAt == Date(timeIntervalSince1970: 4000))
            #expect(try await store.apiKeys().map(\.id) == ["abcdefghijkl"])
        }
    }

    @Test("idempotent responses are found by operation and token until purged")
    func idempotency() async throws {
        try await Self.withStore { store, _ in
            let response = IdempotentResponse(fingerprint: [1, 2], status: 202, body: Array("{}".utf8), createdAt: Date(timeIntervalSince1970: 5000))
            try await store.storeIdempotentResponse(response, operation: "Create", clientToken: "t")
            #expect(try await store.idempotentResponse(operation: "Create", clientToken: "t", notBefore: Date(timeIntervalSince1970: 0)) == response)
            #expect(try await store.idempotentResponse(operation: "Update", clientToken: "t", notBefore: Date(timeIntervalSince1970: 0)) == nil)
            #expect(try await store.idempotentResponse(operation: "Create", clientToken: "t", notBefore: Date(timeIntervalSince1970: 6000)) == nil)
            try await store.purgeIdempotentResponses(before: Date(timeIntervalSince1970: 6000))
            #expect(try await store.idempotentResponse(operation: "Create", clientToken: "t", notBefore: Date(timeIntervalSince1970: 0)) == nil)
        }
    }
}
