import AsyncHTTPClient
import Logging
import NIOCore
import NIOPosix
import PortcullisCore

/// The HTTP client the gateway uses to reach agents, configured as a proxy needs: no redirects, no
/// decompression, explicit timeouts and a large per-host pool.
final class UpstreamClient: Sendable {
    let httpClient: HTTPClient
    private let configuration: UpstreamConfiguration

    init(configuration: UpstreamConfiguration, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        var clientConfiguration = HTTPClient.Configuration()
        clientConfiguration.redirectConfiguration = .disallow
        clientConfiguration.decompression = .disabled
        clientConfiguration.timeout = HTTPClient.Configuration.Timeout(
            connect: .milliseconds(Int64(configuration.connectTimeoutSeconds * 1000)),
            read: .milliseconds(Int64(configuration.readTimeoutSeconds * 1000))
        )
        clientConfiguration.connectionPool = HTTPClient.Configuration.ConnectionPool(
            idleTimeout: .seconds(60),
            concurrentHTTP1ConnectionsPerHostSoftLimit: configuration.maxConnectionsPerHost
        )
        self.httpClient = HTTPClient(eventLoopGroup: eventLoopGroup, configuration: clientConfiguration)
        self.configuration = configuration
    }

    /// Sends `request` and returns once the agent's response head arrived. When `connection` closes first, the
    /// upstream request is cancelled and `CancellationError` thrown.
    /// - Throws: `RuntimeClientError` (424) for every way the agent can fail, `PayloadTooLargeException` when the
    ///   caller's body outgrew the limit while streaming, or `CancellationError`.
    func send(_ request: HTTPClientRequest, abandonWhenClosed connection: ClientConnection?) async throws -> HTTPClientResponse {
        let deadline = NIODeadline.now() + .milliseconds(Int64(configuration.readTimeoutSeconds * 1000))
        do {
            guard let connection else {
                return try await httpClient.execute(request, deadline: deadline)
            }
            return try await withThrowingTaskGroup(of: HTTPClientResponse?.self) { group in
                group.addTask { [httpClient] in try await httpClient.execute(request, deadline: deadline) }
                group.addTask {
                    await connection.waitUntilClosed()
                    return nil
                }
                let first = try await group.next() ?? nil
                group.cancelAll()
                guard let first else { throw CancellationError() }
                return first
            }
        } catch {
            throw translate(error)
        }
    }

    /// Maps a client failure onto what the caller sees. Agent failures are 424, never 5xx: SDKs retry 5xx and
    /// would replay the payload.
    func translate(_ error: any Error) -> any Error {
        if error is CancellationError || error is AgentCoreError || error is RequestBodyTooLarge {
            return error is RequestBodyTooLarge ? (error as! RequestBodyTooLarge).error : error
        }
        if let clientError = error as? HTTPClientError {
            switch clientError {
            case .connectTimeout:
                return AgentCoreError(
                    .runtimeClientError,
                    "The agent runtime did not accept a connection within \(Self.seconds(configuration.connectTimeoutSeconds))"
                )
            case .readTimeout, .deadlineExceeded:
                return AgentCoreError(
                    .runtimeClientError,
                    "The agent runtime did not respond within \(Self.seconds(configuration.readTimeoutSeconds))"
                )
            case .remoteConnectionClosed:
                return AgentCoreError(.runtimeClientError, "The agent runtime closed the connection before responding")
            case .cancelled:
                return CancellationError()
            default:
                return AgentCoreError(.runtimeClientError, "The request to the agent runtime failed")
            }
        }
        if error is NIOConnectionError || error is IOError || error is ChannelError {
            return AgentCoreError(.runtimeClientError, "The agent runtime is not reachable")
        }
        return AgentCoreError(.runtimeClientError, "The request to the agent runtime failed")
    }

    func shutdown() async throws {
        try await httpClient.shutdown()
    }

    private static func seconds(_ value: Double) -> String {
        value.rounded() == value ? "\(Int(value)) s" : "\(value) s"
    }
}
