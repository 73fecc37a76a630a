import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PortcullisCore
import PortcullisPolicy
import PortcullisStore

/// The gateway's own liveness (`GET /ping`) and readiness (`GET /ready`) endpoints, without credentials.
///
/// Readiness is the store answering. It also reports the policies: their digest, and when the newest files in
/// the policy directory were refused, that they are stale, since when, and each problem at `file:line:column` —
/// the gateway still serves, with the last good set, so the status stays `Ready`.
struct HealthController: Sendable {
    let store: any StoreHealth
    let policies: PolicyDirectory

    func register(on router: Router<GatewayRequestContext>) {
        router.get("/ping") { _, _ in Self.status(["status": .string("Healthy")], .ok) }
        router.get("/ready") { _, _ in
            do {
                try await store.checkHealth()
                return Self.status(["status": .string("Ready"), "policies": policyReport()], .ok)
            } catch {
                return Self.status(["status": .string("NotReady"), "policies": policyReport()], .serviceUnavailable)
            }
        }
    }

    private func policyReport() -> JSONValue {
        let status = policies.status
        var report: [String: JSONValue] = [
            "state": .string(status.isCurrent ? "current" : "stale"),
            "digest": .string(status.activeDigest),
            "activatedAt": .string(Self.timestamp(status.activatedAt)),
        ]
        if !status.isCurrent {
            report["errors"] = .array(status.problems.map { .string($0.description) })
            if let since = status.refusedSince { report["refusedSince"] = .string(Self.timestamp(since)) }
        }
        return .object(report)
    }

    private static func timestamp(_ date: Date) -> String {
        date.formatted(.iso8601)
    }

    static func status(_ body: [String: JSONValue], _ status: HTTPResponse.Status) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONValue.object(body).serialized())))
    }
}
