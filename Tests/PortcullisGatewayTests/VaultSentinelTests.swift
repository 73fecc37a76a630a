import Foundation
import NIOHTTP1
import Synchronization
@testable import PortcullisCore
import PortcullisStore
import PortcullisVault
@testable import PortcullisGateway
import Testing

/// B15 (`research/vault-anchors.md` §4.4): secrets known to the test — an API key, a client secret, the vendor's
/// access and refresh tokens, authorization codes, states, workload access tokens — run through the vault's flows,
/// failures included, on a `portcullis serve` logging at debug level. None of them may appear in its log, in an
/// error answer or redirect, in an audit record, in a span or metric, or in plain text in the database file.
@Suite("Secrets stay out of logs, errors and records")
struct VaultSentinelTests {
    @Test(
        "B15: sentinel secrets through the vault's flows and their failures appear in no log, error, redirect, audit record, span, metric or database page",
        .enabled(if: CLITests.binary != nil && ExternalProcess.python != nil, "build the portcullis product and run scripts/install-test-deps.sh first")
    )
    func sentinels() async throws {
        try await VaultRaceTests.withExpiredGrant { setup in
            try await TracingTests.withReceiver { receiverPort, receivedSpans in
                let backendSecret = "SENTINEL-client-secret-" + SecureRandom.alphanumeric(12)
                let backend = StandInVendor(style: .custom, clientSecret: backendSecret)
                try await backend.run { backendURL in
                    let metricsPort = try RefusingPort.free()
                    // The second gateway logs JSON lines at trace level, traces every call and serves its metrics.
                    let observability = """
                        tracing:
                          endpoint: http://127.0.0.1:\(receiverPort)/v1/traces
                          exportDelaySeconds: 0.1
                        metrics:
                          listen: 127.0.0.1:\(metricsPort)
                        """
                    let (second, port) = try await VaultRaceTests.secondGateway(setup, logLevel: "trace", extraConfiguration: observability)
                    defer { second.terminate() }
                    let base = "http://127.0.0.1:\(port)"
                    let gateway = setup.gateway
                    var sentinels = [backendSecret, setup.vendor.clientSecret, setup.gateway.adminKey, setup.gateway.invokeKey]
                    /// Answers that must hold no secret: everything but the vault's own token and key answers.
                    var exposed: [String] = []
                    func call(_ operation: String, _ body: [String: Any], expect status: Int) async throws -> [String: Any] {
                        let answer = try await VaultTests.call(gateway, operation, body, base: base)
                        #expect(answer.status == status, "\(operation): \(answer.body)")
                        exposed.append(answer.body)
                        return answer.json
                    }

                    // API keys: created, read by the allowed workload, refused to another, updated, a failed update.
                    let apiKey = "SENTINEL-api-key-" + SecureRandom.alphanumeric(12)
                    let replacement = "SENTINEL-api-key-" + SecureRandom.alphanumeric(12)
                    sentinels += [apiKey, replacement]
                    _ = try await call("CreateWorkloadIdentity", ["name": "outsider"], expect: 201)
                    _ = try await call("CreateApiKeyCredentialProvider", ["name": "sentinel-key", "apiKey": apiKey, "tags": ["portcullis:workloads": "race-app"]], expect: 201)
                    let wat = gateway.gateway.workloadTokens.mint(workload: "race-app", user: setup.user, now: Date())
                    let outsiderWAT = gateway.gateway.workloadTokens.mint(workload: "outsider", user: nil, now: Date())
                    sentinels += [wat, outsiderWAT]
                    let read = try await VaultTests.call(gateway, "api-key", ["workloadIdentityToken": wat, "resourceCredentialProviderName": "sentinel-key"], base: base)
                    #expect(read.json["apiKey"] as? String == apiKey, "the allowed workload gets it: \(read.body)")
                    _ = try await call("api-key", ["workloadIdentityToken": outsiderWAT, "resourceCredentialProviderName": "sentinel-key"], expect: 403)
                    _ = try await call("api-key", ["workloadIdentityToken": outsiderWAT + "x", "resourceCredentialProviderName": "sentinel-key"], expect: 401)
                    _ = try await call("UpdateApiKeyCredentialProvider", ["name": "sentinel-key", "apiKey": replacement], expect: 200)
                    _ = try await call("UpdateApiKeyCredentialProvider", ["name": "no-such-key", "apiKey": apiKey], expect: 404)
                    _ = try await call("CreateApiKeyCredentialProvider", ["name": "bad name!", "apiKey": apiKey], expect: 400)
                    _ = try await call("GetApiKeyCredentialProvider", ["name": "sentinel-key"], expect: 200)

                    // OAuth2 client credentials: a minted token, a refused client, a bad configuration.
                    let backendConfig: [String: Any] = [
                        "clientId": backend.clientId, "clientSecret": backendSecret, "clientAuthenticationMethod": "CLIENT_SECRET_POST",
                        "oauthDiscovery": ["authorizationServerMetadata": ["issuer": backendURL, "authorizationEndpoint": backendURL + "/authorize", "tokenEndpoint": backendURL + "/token"]],
                    ]
                    _ = try await call(
                        "CreateOauth2CredentialProvider",
                        ["name": "backend", "credentialProviderVendor": "CustomOauth2", "tags": ["portcullis:workloads": "*"], "oauth2ProviderConfigInput": ["customOauth2ProviderConfig": backendConfig]],
                        expect: 201
                    )
                    let m2m: [String: Any] = ["workloadIdentityToken": wat, "resourceCredentialProviderName": "backend", "scopes": ["read"], "oauth2Flow": "M2M"]
                    let minted = try await VaultTests.call(gateway, "oauth2/token", m2m, base: base)
                    #expect(backend.isLive(try #require(minted.json["accessToken"] as? String, "\(minted.body)")))
                    var wrongSecret = backendConfig
                    wrongSecret["clientSecret"] = "SENTINEL-wrong-secret-" + SecureRandom.alphanumeric(12)
                    sentinels.append(wrongSecret["clientSecret"] as! String)
                    _ = try await call(
                        "CreateOauth2CredentialProvider",
                        ["name": "refused", "credentialProviderVendor": "CustomOauth2", "tags": ["portcullis:workloads": "*"], "oauth2ProviderConfigInput": ["customOauth2ProviderConfig": wrongSecret]],
                        expect: 201
                    )
                    _ = try await call("oauth2/token", m2m.merging(["resourceCredentialProviderName": "refused"]) { $1 }, expect: 400)
                    var badConfig = backendConfig
                    badConfig["oauthDiscovery"] = ["authorizationServerMetadata": ["issuer": backendURL, "tokenEndpoint": "http://idp.internal/token"]]
                    _ = try await call(
                        "CreateOauth2CredentialProvider",
                        ["name": "bad-config", "credentialProviderVendor": "CustomOauth2", "oauth2ProviderConfigInput": ["customOauth2ProviderConfig": badConfig]],
                        expect: 400
                    )

                    // A refresh of the expired Zoom grant, then one the vendor fails for now.
                    let refreshed = try await VaultRaceTests.request(setup, base: base, returnURL: false)
                    #expect(refreshed.json["accessToken"] as? String != nil, "\(refreshed.json)")
                    backend.configure { $0.failNextTokenCalls = 1 }
                    _ = try await call("oauth2/token", m2m.merging(["scopes": ["write"]]) { $1 }, expect: 500)

                    // A consent: the user's browser through the second gateway, a replayed callback, a denied one.
                    _ = try await call("UpdateWorkloadIdentity", ["name": "race-app", "allowedResourceOauth2ReturnUrls": ["https://app.example.com/done"]], expect: 200)
                    var newcomer = setup
                    newcomer.user = .id("sentinel-user")
                    let started = try await VaultRaceTests.request(newcomer, base: base)
                    let url = try #require(started.json["authorizationUrl"] as? String, "\(started.json)")
                    let sessionUri = try #require(started.json["sessionUri"] as? String)
                    try await TestBrowser.with { (browser: TestBrowser) async throws in
                        let toVendor = try await browser.get(url)
                        let vendorURL = try #require(toVendor.location)
                        let approved = try await browser.get(vendorURL)
                        let callback = try #require(approved.location)
                        let query = QueryParameters(String(callback[callback.index(after: try #require(callback.firstIndex(of: "?")))...]))
                        sentinels += [try #require(query["code"]), try #require(query["state"])]
                        if let cookie = toVendor.headers.first(name: "Set-Cookie"), let value = cookie.split(separator: ";").first?.split(separator: "=", maxSplits: 1).last {
                            sentinels.append(String(value))
                        }
                        let back = try await browser.get(callback)
                        #expect(back.status == 303, "\(back.body)")
                        exposed += [back.body, back.location ?? ""]
                        let replay = try await browser.get(callback)
                        #expect(replay.status == 400)
                        exposed += [replay.body, replay.location ?? ""]
                        let denied = try await browser.get(base + "/identities/oauth2/callback/" + setup.client.providerId + "?error=access_denied&state=" + (query["state"] ?? ""))
                        #expect(denied.status == 400)
                        exposed.append(denied.body)
                    }
                    _ = try await call("CompleteResourceTokenAuth", ["sessionUri": sessionUri, "userIdentifier": ["userId": "sentinel-user"]], expect: 200)
                    let consented = try await VaultRaceTests.request(newcomer, base: base, returnURL: true, ["sessionUri": sessionUri])
                    #expect(consented.json["accessToken"] as? String != nil, "\(consented.json)")

                    sentinels += setup.vendor.issuedAccessTokens + backend.issuedAccessTokens
                    sentinels += setup.vendor.state.withLock { Array($0.refreshTokens.keys) }
                    let metrics = try await gateway.send(.GET, "http://127.0.0.1:\(metricsPort)/metrics", key: .some(nil)).body
                    #expect(metrics.contains("portcullis_vault_reads_total"), "the flows were counted")
                    #expect(second.terminate() == 0, "a graceful stop, which flushes the last spans")
                    let spans = try await receivedSpans()
                    #expect(spans.contains { $0.name == "POST /identities/oauth2/token" }, "the flows were traced: \(spans.map(\.name))")
                    let spanText = String(describing: spans.map { [$0.name, $0.attributes, $0.resource] as [Any] })
                    await gateway.gateway.audit.flush()
                    let audit = try await gateway.gateway.store.auditRecords(AuditQuery(limit: 1000)).map(\.body)
                    #expect(audit.contains { $0.contains("vault.access") || $0.contains("GetResourceApiKey") }, "the flows were audited")
                    let log = second.output
                    #expect(log.contains("\"level\":\"debug\"") || log.contains("\"level\":\"trace\""), "the log is at its most detailed")
                    let lines = log.split(separator: "\n")
                    let unstructured = lines.filter { line in
                        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return true }
                        return object["level"] == nil || object["message"] == nil || object["time"] == nil
                    }
                    #expect(lines.count > 20 && unstructured.isEmpty, "every line is a JSON object: \(unstructured.prefix(3).map { $0.prefix(120) })")
                    #expect(lines.contains { $0.contains("\"request_id\":") && $0.contains("\"trace_id\":") }, "lines of a request name it and its trace")
                    var database = Data()
                    for file in ["/portcullis.sqlite", "/portcullis.sqlite-wal"] {
                        database += FileManager.default.contents(atPath: gateway.gateway.configuration.store.dataDirectory + file) ?? Data()
                    }
                    #expect(sentinels.count >= 15, "\(sentinels.count) sentinels")
                    // Where each secret was found, by its first characters only (a failure must not print the log or the secret).
                    var found: [String] = []
                    for sentinel in sentinels where sentinel.count >= 12 {
                        let name = sentinel.prefix(10) + "…"
                        if log.contains(sentinel) { found.append("log: \(name)") }
                        if exposed.contains(where: { $0.contains(sentinel) }) { found.append("answer: \(name)") }
                        if audit.contains(where: { $0.contains(sentinel) }) { found.append("audit: \(name)") }
                        if spanText.contains(sentinel) { found.append("span: \(name)") }
                        if metrics.contains(sentinel) { found.append("metrics: \(name)") }
                        if database.range(of: Data(sentinel.utf8)) != nil { found.append("database: \(name)") }
                    }
                    #expect(found.isEmpty, "secrets found: \(found)")
                }
            }
        }
    }
}
