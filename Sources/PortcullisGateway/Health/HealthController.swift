import HTTPTypes
import Hummingbird
import NIOCore
import PortcullisStore

/// The gateway's own liveness (`GET /ping`) and readiness (`GET /ready`: the store answers) endpoints.
/// Neither needs credentials, and neither reveals anything but a status word.
struct HealthController: Sendable {
    let store: any StoreHealth

    func register(on router: Router<GatewayRequestContext>) {
        router.get("/ping") { _, _ in Self.status("Healthy", .ok) }
        router.get("/ready") { _, _ in
            do {
                try await store.checkHealth()
                return Self.status("Ready", .ok)
            } catch {
                return Self.status("NotReady", .serviceUnavailable)
            }
        }
    }

    static func status(_ word: String, _ status: HTTPResponse.Status) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"status":"\#(word)"}"#)))
    }
}
