import Hummingbird
import Logging
import NIOCore
import PortcullisCore

/// The Prometheus scrape endpoint: `GET /metrics` on a listener of its own (`metrics.listen`), in the text
/// exposition format. Nothing else is served there, and nothing of the gateway's API is reachable through it.
enum MetricsListener {
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    static func application(address: ListenAddress, metrics: GatewayMetrics, logger: Logger) -> some ApplicationProtocol {
        let router = Router()
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: contentType, .cacheControl: "no-store"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.exposition()))
            )
        }
        return Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(address.host, port: address.port), serverName: nil),
            onServerRunning: { channel in
                logger.notice("metrics listener ready", metadata: ["address": "\(address.host):\(channel.localAddress?.port ?? address.port)"])
            },
            logger: logger
        )
    }
}
