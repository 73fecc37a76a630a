import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import PortcullisCore

/// The HTTP requests the identity layer makes to identity providers: discovery documents, key sets, token
/// endpoints. Redirects are never followed, and every exchange is bounded in bytes and in total time.
public final class IdentityHTTPClient: Sendable {
    /// A response read whole.
    public struct Response: Sendable {
        public var status: Int
        public var body: [UInt8]
        /// `Cache-Control: max-age`, or 0 for `no-cache`/`no-store`; `nil` when the response does not say.
        public var maxAge: Int?
        public var contentType: String?
    }

    /// Why an exchange failed; `description` is safe to log (it names the URL's host, never a query).
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    let client: HTTPClient

    /// The process-wide client. Like `HTTPClient.shared` it lives as long as the process and is never shut down,
    /// so gateways built and dropped (tests, CLI commands) never leak or trip over an unclosed client.
    public static let shared = IdentityHTTPClient()

    private init() {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: HTTPClient.Configuration.Timeout(connect: .seconds(5), read: .seconds(10)),
            decompression: .disabled
        )
        configuration.connectionPool.idleTimeout = .seconds(30)
        self.client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
    }

    /// `GET url`, accepting JSON.
    public func get(_ url: String, timeout: Duration, maxBytes: Int) async throws(Failure) -> Response {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        request.headers.add(name: "Accept", value: "application/json")
        return try await send(request, url: url, timeout: timeout, maxBytes: maxBytes)
    }

    /// `POST url` with an `application/x-www-form-urlencoded` body, as OAuth token endpoints take.
    public func postForm(
        _ url: String,
        form: [(String, String)],
        headers: [(String, String)] = [],
        timeout: Duration,
        maxBytes: Int
    ) async throws(Failure) -> Response {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: PercentEncoding.encodeForm(form)))
        return try await send(request, url: url, timeout: timeout, maxBytes: maxBytes)
    }

    /// `method url` with a body of `contentType` (or none), accepting JSON: the calls that are not form posts
    /// (GitHub revokes a token with a `DELETE` that has a JSON body).
    public func send(
        method: String,
        _ url: String,
        body: [UInt8]?,
        contentType: String?,
        headers: [(String, String)] = [],
        timeout: Duration,
        maxBytes: Int
    ) async throws(Failure) -> Response {
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        request.headers.add(name: "Accept", value: "application/json")
        for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        return try await send(request, url: url, timeout: timeout, maxBytes: maxBytes)
    }

    private func send(_ request: HTTPClientRequest, url: String, timeout: Duration, maxBytes: Int) async throws(Failure) -> Response {
        let host = URLComponents(string: url)?.host ?? "the server"
        let client = self.client
        do {
            return try await withThrowingTaskGroup(of: Response?.self) { group in
                group.addTask {
                    let response = try await client.execute(request, timeout: TimeAmount(timeout))
                    if let length = response.headers.first(name: "content-length").flatMap(Int.init), length > maxBytes {
                        throw Failure(description: "\(host) answered with \(length) bytes; the limit is \(maxBytes)")
                    }
                    let body = try await response.body.collect(upTo: maxBytes)
                    return Response(
                        status: Int(response.status.code),
                        body: Array(body.readableBytesView),
                        maxAge: Self.maxAge(response.headers[canonicalForm: "cache-control"].map(String.init)),
                        contentType: response.headers.first(name: "content-type")
                    )
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let response = first else {
                    throw Failure(description: "\(host) did not answer within \(timeout.components.seconds) s")
                }
                return response
            }
        } catch let failure as Failure {
            throw failure
        } catch is NIOTooManyBytesError {
            throw Failure(description: "\(host) sent more than \(maxBytes) bytes")
        } catch {
            throw Failure(description: "could not reach \(host): \(Self.summary(of: error))")
        }
    }

    /// The `max-age` directive of `Cache-Control` values; `no-store` and `no-cache` count as 0.
    static func maxAge(_ values: [String]) -> Int? {
        var result: Int?
        for directive in values.flatMap({ $0.split(separator: ",") }) {
            let trimmed = directive.trimmingCharacters(in: .whitespaces).lowercased()
            if trimmed == "no-store" || trimmed == "no-cache" { return 0 }
            if trimmed.hasPrefix("max-age="), let seconds = Int(trimmed.dropFirst("max-age=".count)), seconds >= 0 {
                result = seconds
            }
        }
        return result
    }

    private static func summary(of error: any Error) -> String {
        String(String(describing: error).prefix(200))
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
