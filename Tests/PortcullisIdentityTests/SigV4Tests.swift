import Crypto
import Foundation
import HTTPTypes
import Logging
@testable import PortcullisCore
@testable import PortcullisIdentity
import PortcullisStore
import Testing

@Suite("AWS Signature Version 4")
struct SigV4Tests {
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

    static func request(
        method: String = "POST",
        path: String,
        query: String? = nil,
        headers: HTTPFields,
        authority: String,
        authorization: String,
        payloadHash: String
    ) throws -> SignedRequest {
        let facts = RequestFacts(method: method, rawPath: path, rawQuery: query, headers: headers + [.authorization: authorization], authority: authority, payloadHash: payloadHash)
        guard case .sigV4(let signed) = try InboundCredential.extract(from: facts) else { throw AuthenticationError(.unsupportedCredential, "not SigV4") }
        return signed
    }

    @Test("the AWS documentation example (IAM ListUsers) gives its published canonical request hash and signature")
    func documentationExample() throws {
        let signed = try Self.request(
            method: "GET",
            path: "/",
            query: "Action=ListUsers&Version=2010-05-08",
            headers: [HTTPField.Name("Content-Type")!: "application/x-www-form-urlencoded; charset=utf-8", HTTPField.Name("X-Amz-Date")!: "20150830T123600Z"],
            authority: "iam.amazonaws.com",
            authorization: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
            payloadHash: SignedRequest.emptyPayloadHash
        )
        #expect(Hex.encode(SHA256.hash(data: Array(signed.canonicalRequest.utf8))) == "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59")
        #expect(SigV4Signature.signature(of: signed, secret: Self.secret) == "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7")
        #expect(Hex.encode(SigV4Signature.signingKey(secret: Self.secret, date: "20150830", region: "us-east-1", service: "iam").withUnsafeBytes { Array($0) })
            == "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9")
    }

    /// Signed by botocore 1.43 (`SigV4Auth` at 2015-08-30T12:36:00Z): an InvokeAgentRuntime with the ARN
    /// percent-encoded in one segment, so the canonical URI is encoded twice.
    @Test("an InvokeAgentRuntime request signed by botocore verifies (double-encoded canonical URI)")
    func botocoreInvocation() throws {
        let path = "/runtimes/arn%3Aaws%3Abedrock-agentcore%3Aus-east-1%3A123456789012%3Aruntime%2Fecho-AbCdEf1234/invocations"
        let body = Array(#"{"prompt":"hi"}"#.utf8)
        let signed = try Self.request(
            path: path,
            query: "qualifier=DEFAULT",
            headers: [
                HTTPField.Name("Content-Type")!: "application/json", HTTPField.Name("X-Amz-Date")!: "20150830T123600Z",
                HTTPField.Name("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id")!: String(repeating: "a", count: 40),
            ],
            authority: "localhost:8080",
            authorization: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock-agentcore/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amzn-bedrock-agentcore-runtime-session-id, Signature=c4890f232c4df5a728ff6636e2c79e72163402400cc0cce2f5fae623fdc9c370",
            payloadHash: Hex.encode(SHA256.hash(data: body))
        )
        #expect(signed.canonicalRequest.split(separator: "\n")[1] == "/runtimes/arn%253Aaws%253Abedrock-agentcore%253Aus-east-1%253A123456789012%253Aruntime%252Fecho-AbCdEf1234/invocations")
        #expect(SigV4Signature.signature(of: signed, secret: Self.secret) == signed.credential.signature)
        var tampered = signed
        tampered.payloadHash = Hex.encode(SHA256.hash(data: Array(#"{"prompt":"hI"}"#.utf8)))
        #expect(SigV4Signature.signature(of: tampered, secret: Self.secret) != signed.credential.signature)
    }

    @Test("malformed Authorization headers and presigned queries are refused before any lookup")
    func malformed() {
        let cases = [
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/bedrock-agentcore/aws4_request, SignedHeaders=host",
            "AWS4-HMAC-SHA256 Credential=AKID/2015083/us-east-1/bedrock-agentcore/aws4_request, SignedHeaders=host, Signature=\(String(repeating: "a", count: 64))",
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/bedrock-agentcore/aws4, SignedHeaders=host, Signature=\(String(repeating: "a", count: 64))",
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/bedrock-agentcore/aws4_request, SignedHeaders=x-amz-date, Signature=\(String(repeating: "a", count: 64))",
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/bedrock-agentcore/aws4_request, SignedHeaders=Host, Signature=\(String(repeating: "a", count: 64))",
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/bedrock-agentcore/aws4_request, SignedHeaders=host, Signature=\(String(repeating: "A", count: 64))",
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/bedrock-agentcore/aws4_request, SignedHeaders=host, SignedHeaders=host, Signature=\(String(repeating: "a", count: 64))",
        ]
        for authorization in cases {
            #expect(throws: AuthenticationError.self, "\(authorization)") {
                try InboundCredential.extract(from: RequestFacts(method: "GET", rawPath: "/", rawQuery: nil, headers: [.authorization: authorization], authority: "h", payloadHash: ""))
            }
        }
        let presigned = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20150830%2Fus-east-1%2Fbedrock-agentcore%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Signature=\(String(repeating: "a", count: 64))"
        #expect("no X-Amz-Expires") {
            try InboundCredential.extract(from: RequestFacts(method: "GET", rawPath: "/", rawQuery: presigned, headers: [:], authority: "h", payloadHash: SignedRequest.emptyPayloadHash))
        } throws: { ($0 as? AuthenticationError)?.failure == .malformedSignature }
        #expect("a header and a presigned query") {
            try InboundCredential.extract(from: RequestFacts(method: "GET", rawPath: "/", rawQuery: presigned + "&X-Amz-Expires=60", headers: [.authorization: "Bearer x"], authority: "h", payloadHash: SignedRequest.emptyPayloadHash))
        } throws: { ($0 as? AuthenticationError)?.failure == .ambiguous }
        let valid = try? InboundCredential.extract(from: RequestFacts(method: "GET", rawPath: "/", rawQuery: presigned + "&X-Amz-Expires=60", headers: [:], authority: "h", payloadHash: SignedRequest.emptyPayloadHash))
        #expect(valid != nil, "the same query with X-Amz-Expires reads as a presigned request")
        #expect(throws: AuthenticationError.self, "the signature parameter twice") {
            try InboundCredential.extract(from: RequestFacts(method: "GET", rawPath: "/", rawQuery: presigned + "&X-Amz-Expires=60&X-Amz-Signature=\(String(repeating: "b", count: 64))", headers: [:], authority: "h", payloadHash: SignedRequest.emptyPayloadHash))
        }
    }

    // MARK: - The authenticator against real access keys

    struct Fixture {
        let store: SQLiteStore
        let keyRing: KeyRing
        let clock: TestClock
        let authenticator: SigV4Authenticator
        let service: AccessKeyService
    }

    static func withFixture(_ body: (Fixture) async throws -> Void) async throws {
        try await APIKeyTests.withStore { store in
            let keyRing = KeyRing(keys: [1: SymmetricKey(size: .bits256)])
            let clock = TestClock()
            let authenticator = SigV4Authenticator(store: store, keyRing: keyRing, clock: clock, clockSkewSeconds: 300, cacheLifetime: 5, logger: Logger(label: "test"))
            try await body(Fixture(store: store, keyRing: keyRing, clock: clock, authenticator: authenticator, service: AccessKeyService(store: store, keyRing: keyRing, clock: clock, authenticator: authenticator)))
        }
    }

    /// A request to the gateway signed with `secret` at `time`.
    static func signed(id: String, secret: String, time: Date, body: [UInt8] = [], signedBody: [UInt8]? = nil) throws -> SignedRequest {
        let stamp = SigV4Signature.requestTime(time)
        var request = try request(
            path: "/runtimes/echo/invocations",
            headers: [HTTPField.Name("X-Amz-Date")!: stamp],
            authority: "127.0.0.1:8080",
            authorization: "AWS4-HMAC-SHA256 Credential=\(id)/\(stamp.prefix(8))/us-east-1/bedrock-agentcore/aws4_request, SignedHeaders=host;x-amz-date, Signature=\(String(repeating: "0", count: 64))",
            payloadHash: Hex.encode(SHA256.hash(data: signedBody ?? body))
        )
        request.credential.signature = SigV4Signature.signature(of: request, secret: secret)
        request.payloadHash = Hex.encode(SHA256.hash(data: body))
        return request
    }

    @Test("valid, wrong secret, tampered body, clock skew, unknown, revoked and expired keys")
    func authenticator() async throws {
        try await Self.withFixture { fixture in
            let issued = try await fixture.service.issue(name: "ci", agents: ["echo"], administrator: false, actForUsers: true, expiresAt: fixture.clock.now().addingTimeInterval(3600))
            #expect(AccessKeyFormat.isKeyId(issued.record.id) && issued.secret.count == 40)
            #expect(!issued.record.sealedSecret.contains(issued.secret), "the stored secret is sealed")
            let now = fixture.clock.now()
            func outcome(_ request: SignedRequest) async -> AuthenticationFailure? {
                do {
                    _ = try await fixture.authenticator.authenticate(.sigV4(request))
                    return nil
                } catch {
                    return error.failure
                }
            }
            let principal = try await fixture.authenticator.authenticate(.sigV4(try Self.signed(id: issued.record.id, secret: issued.secret, time: now)))
            #expect(principal.id == "accesskey:\(issued.record.id)" && principal.method == .sigV4 && principal.mayActForUsers)
            #expect(principal.agentScope == .named(["echo"]))
            #expect(await outcome(try Self.signed(id: issued.record.id, secret: issued.secret + "x", time: now)) == .signatureMismatch)
            #expect(await outcome(try Self.signed(id: issued.record.id, secret: issued.secret, time: now, body: Array("tampered".utf8), signedBody: Array("original".utf8))) == .signatureMismatch)
            #expect(await outcome(try Self.signed(id: issued.record.id, secret: issued.secret, time: now.addingTimeInterval(-301))) == .requestTimeSkewed)
            #expect(await outcome(try Self.signed(id: issued.record.id, secret: issued.secret, time: now.addingTimeInterval(301))) == .requestTimeSkewed)
            #expect(await outcome(try Self.signed(id: issued.record.id, secret: issued.secret, time: now.addingTimeInterval(-299))) == nil)
            #expect(await outcome(try Self.signed(id: "PCAKAAAAAAAAAAAAAAAA", secret: issued.secret, time: now)) == .unknownAccessKey)
            fixture.clock.advance(3601)
            #expect(await outcome(try Self.signed(id: issued.record.id, secret: issued.secret, time: fixture.clock.now())) == .unknownAccessKey, "expired")

            let second = try await fixture.service.issue(name: "other", agents: ["*"], administrator: true, actForUsers: false, expiresAt: nil)
            #expect(await outcome(try Self.signed(id: second.record.id, secret: second.secret, time: fixture.clock.now())) == nil)
            #expect(try await fixture.service.revoke(id: second.record.id))
            #expect(await outcome(try Self.signed(id: second.record.id, secret: second.secret, time: fixture.clock.now())) == .unknownAccessKey, "revoked")
        }
    }

    @Test("a secret sealed for one key does not open on another key's row, and a sealed ring verifies nothing")
    func sealing() async throws {
        try await Self.withFixture { fixture in
            let first = try await fixture.service.issue(name: "a", agents: ["*"], administrator: false, actForUsers: false, expiresAt: nil)
            let second = try await fixture.service.issue(name: "b", agents: ["*"], administrator: false, actForUsers: false, expiresAt: nil)
            try await fixture.store.updateAccessKeySecret(id: second.record.id, sealedSecret: first.record.sealedSecret)
            fixture.authenticator.evict(id: second.record.id)
            await #expect(throws: AuthenticationError.self) {
                try await fixture.authenticator.authenticate(.sigV4(try Self.signed(id: second.record.id, secret: first.secret, time: fixture.clock.now())))
            }
            let sealed = SigV4Authenticator(store: fixture.store, keyRing: KeyRing(keys: [:]), clock: fixture.clock, clockSkewSeconds: 300, cacheLifetime: 5, logger: Logger(label: "test"))
            await #expect(throws: AuthenticationError.self) {
                try await sealed.authenticate(.sigV4(try Self.signed(id: first.record.id, secret: first.secret, time: fixture.clock.now())))
            }
            await #expect(throws: SecretsError.self) {
                try await AccessKeyService(store: fixture.store, keyRing: KeyRing(keys: [:])).issue(name: "c", agents: ["*"], administrator: false, actForUsers: false, expiresAt: nil)
            }
        }
    }
}
