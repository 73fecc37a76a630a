import Foundation
import HTTPTypes
import NIOHTTP1
@testable import PortcullisCore
@testable import PortcullisGateway
import Testing

/// moto's Cognito in server mode as a real third-party identity provider: a user pool, an app client and a user
/// in a group set up with boto3, its tokens presented to a JWT runtime.
@Suite("Interoperability with Cognito (moto server)")
struct CognitoInteropTests {
    @Test(
        "a Cognito access token invokes the agent; its ID token, another client's token, an ungrouped user and an expired token do not",
        .enabled(if: ExternalProcess.python != nil, "needs a Python with moto[server]: run ./scripts/test.sh, or set PORTCULLIS_TEST_PYTHON")
    )
    func cognito() async throws {
        let python = try #require(ExternalProcess.python)
        let port = try RefusingPort.free()
        let moto = try RunningProcess(python, ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)])
        defer { moto.terminate() }
        _ = try await moto.waitFor(#"(Running on)"#, timeout: .seconds(60))
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("interop/cognito_setup.py").path
        let setup = try await ExternalProcess.run(python, [script], environment: ["MOTO_URL": "http://127.0.0.1:\(port)"])
        #expect(setup.status == 0, "\(setup.error)")
        let pool = try TestGateway.json(setup.output)
        let issuer = try #require(pool["issuer"] as? String)
        let clientId = try #require(pool["clientId"] as? String)
        let clock = ManualClock()
        try await withTestAgent({ $0.addRecordingInvocations($1) }) { agentURL, recorder in
            try await TestGateway.run(clock: clock, configure: { configuration in
                // The pool's real issuer; its keys come from the local moto server.
                configuration.auth.issuers = [
                    IssuerConfiguration(name: "pool", profile: .cognito, issuer: issuer, jwksURI: pool["jwksUri"] as? String, clientIds: [clientId])
                ]
            }) { gateway in
                let arn = try await gateway.registerAgent(
                    name: "cognito_agent",
                    url: agentURL,
                    authorizer: CustomJWTAuthorizer(
                        discoveryURL: issuer + CustomJWTAuthorizer.discoverySuffix,
                        allowedClients: [clientId],
                        customClaims: [CustomClaimRule(claimName: "cognito:groups", match: .contains("agents-users"))]
                    )
                )
                func status(_ member: String) async throws -> Int {
                    try await gateway.send(.POST, gateway.invocationURL(arn), body: "{}", key: try #require(pool[member] as? String)).status
                }
                #expect(try await status("accessToken") == 200)
                #expect(recorder.requests.first?.headers[.authorization] == nil, "the token is not forwarded unless allowlisted")
                #expect(try await status("idToken") == 401, "an ID token is not an access token")
                #expect(try await status("otherClientAccessToken") == 401, "another app client's token")
                #expect(try await status("ungroupedAccessToken") == 403, "a user outside the group")
                clock.advance(by: 2 * 3600)
                #expect(try await status("accessToken") == 401, "expired")
                #expect(recorder.count == 1)
            }
        }
    }
}
