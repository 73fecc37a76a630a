import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import PortcullisCore

/// The gateway's HTTP/1.1 client for agents, built for proxying: a request in memory goes out in one flush,
/// connections are pooled per agent and event loop, no redirects are followed and nothing is decompressed.
final class UpstreamClient: Sendable {
    /// What a request carries.
    enum Body: Sendable {
        case none
        case bytes(ByteBuffer)
        case stream(LimitedRequestBody, length: Int?)
        /// A body read whole beforehand into a spool file (see ``SpooledRequestBody``).
        case spooled(SpoolFile.Chunks)

        /// Whether the body can be sent again (it is in memory).
        var isReplayable: Bool {
            if case .stream = self { return false }
            return true
        }
    }

    let pool: UpstreamConnectionPool
    private let configuration: UpstreamConfiguration

    init(configuration: UpstreamConfiguration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.pool = UpstreamConnectionPool(
            maxIdlePerKey: configuration.maxConnectionsPerHost,
            connectTimeout: .milliseconds(Int64(configuration.connectTimeoutSeconds * 1000)),
            readTimeout: .milliseconds(Int64(configuration.readTimeoutSeconds * 1000)),
            group: group
        )
    }

    /// Sends a request and returns once the agent's response head arrived (the body keeps streaming).
    ///
    /// When `client` closes before the response is over, the upstream connection is closed: before the head that is a
    /// `CancellationError`, during the body the body fails. A request sent
    /// on a reused connection that the agent closed before answering a single byte is sent once more on a new
    /// connection, when its body is in memory: the agent closed an idle connection as the request went out.
    /// - Throws: `RuntimeClientError` (424) for every way the agent can fail, `PayloadTooLargeException` when the
    ///   caller's streamed body outgrew the limit, or `CancellationError`.
    func send(
        method: HTTPMethod,
        path: String,
        to address: UpstreamAddress,
        headers: HTTPHeaders,
        body: Body,
        on eventLoop: any EventLoop,
        abandonWhenClosed client: ClientConnection?
    ) async throws -> UpstreamResponse {
        let bodyLength: Int?
        switch body {
        case .none: bodyLength = method == .POST || method == .PUT ? 0 : nil
        case .bytes(let buffer): bodyLength = buffer.readableBytes
        case .stream(_, let length): bodyLength = length ?? -1
        case .spooled(let chunks): bodyLength = chunks.length
        }
        let head = Self.requestHead(method: method, path: path, address: address, headers: headers, bodyLength: bodyLength)
        var attempt = 0
        while true {
            attempt += 1
            let (connection, reused) = try await acquire(address, on: eventLoop)
            // Until the response is over, the caller leaving closes the agent connection, which ends the exchange.
            let watch = ClientDisconnectWatch(client: client) { connection.close() }
            if watch.clientAlreadyGone {
                connection.close()
                throw CancellationError()
            }
            do {
                var response: UpstreamResponse
                switch body {
                case .none:
                    response = try await connection.send(head: head, body: nil).get()
                case .bytes(let buffer):
                    response = try await connection.send(head: head, body: buffer).get()
                case .stream(let stream, _):
                    response = try await sendStreaming(head: head, body: stream, on: connection)
                case .spooled(let chunks):
                    response = try await sendStreaming(head: head, body: chunks, on: connection)
                }
                response.disconnectWatch = watch
                return response
            } catch let error as UpstreamError {
                if client?.isClosed == true { throw CancellationError() }
                if error == .closed(responseStarted: false), reused, attempt == 1, body.isReplayable {
                    continue
                }
                throw translate(error)
            } catch let error as RequestBodyTooLarge {
                throw error.error
            } catch {
                if client?.isClosed == true { throw CancellationError() }
                throw error
            }
        }
    }

    /// The head of a request to an agent: the path under the agent's base path, its `Host`, and the framing.
    /// - Parameter bodyLength: the body's size; `nil` for no body header, `-1` for a chunked body.
    static func requestHead(method: HTTPMethod, path: String, address: UpstreamAddress, headers: HTTPHeaders, bodyLength: Int?) -> HTTPRequestHead {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: address.basePath + path, headers: headers)
        head.headers.replaceOrAdd(name: "Host", value: address.hostHeader)
        switch bodyLength {
        case .none: break
        case -1: head.headers.replaceOrAdd(name: "Transfer-Encoding", value: "chunked")
        case let length?: head.headers.replaceOrAdd(name: "Content-Length", value: String(length))
        }
        return head
    }

    /// Streams the caller's body while waiting for the answer. The upload is owned here and awaited before the
    /// response is returned, so nobody else reads the caller's body while it runs.
    private func sendStreaming<Body: AsyncSequence & Sendable>(
        head: HTTPRequestHead,
        body: Body,
        on connection: UpstreamConnection
    ) async throws -> UpstreamResponse where Body.Element == ByteBuffer {
        let responseHead = connection.start(head: head)
        async let uploaded: Void = {
            do {
                for try await chunk in body {
                    try await connection.write(bodyPart: chunk)
                }
                try await connection.finishBody()
            } catch {
                // The agent stops the exchange by closing; a failed upload must not leave it waiting.
                connection.close()
                throw error
            }
        }()
        let response: UpstreamResponse
        do {
            response = try await responseHead.get()
        } catch {
            // Report the caller's own failure (an oversized body) over the closed connection it caused.
            do { try await uploaded } catch let tooLarge as RequestBodyTooLarge { throw tooLarge } catch {}
            throw error
        }
        do {
            try await uploaded
        } catch let tooLarge as RequestBodyTooLarge {
            throw tooLarge
        } catch {
            // The agent answered and stopped reading the rest of the body: its answer stands.
        }
        return response
    }

    private func acquire(_ address: UpstreamAddress, on eventLoop: any EventLoop) async throws -> (UpstreamConnection, reused: Bool) {
        do {
            return try await pool.acquire(address, on: eventLoop)
        } catch let error as UpstreamError {
            throw translate(error)
        }
    }

    /// Maps a client failure onto what the caller sees. Agent failures are 424, never 5xx: SDKs retry 5xx and
    /// would replay the payload.
    func translate(_ error: UpstreamError) -> AgentCoreError {
        switch error {
        case .unreachable:
            AgentCoreError(.runtimeClientError, "The agent runtime is not reachable")
        case .connectTimeout:
            AgentCoreError(
                .runtimeClientError,
                "The agent runtime did not accept a connection within \(Self.seconds(configuration.connectTimeoutSeconds))"
            )
        case .readTimeout:
            AgentCoreError(.runtimeClientError, "The agent runtime did not respond within \(Self.seconds(configuration.readTimeoutSeconds))")
        case .closed(responseStarted: false):
            AgentCoreError(.runtimeClientError, "The agent runtime closed the connection before responding")
        case .closed(responseStarted: true):
            AgentCoreError(.runtimeClientError, "The agent runtime closed the connection in the middle of its response")
        case .malformedResponse:
            AgentCoreError(.runtimeClientError, "The agent runtime sent a response that is not valid HTTP/1.1")
        }
    }

    func shutdown() {
        pool.closeIdle(all: true)
    }

    private static func seconds(_ value: Double) -> String {
        value.rounded() == value ? "\(Int(value)) s" : "\(value) s"
    }
}
