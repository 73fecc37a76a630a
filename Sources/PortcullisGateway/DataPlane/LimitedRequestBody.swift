import Hummingbird
import NIOCore
import PortcullisCore

/// The caller's body grew past the limit while streaming (no `Content-Length` announced it).
struct RequestBodyTooLarge: Error {
    var limit: Int

    /// 413, closing the connection so the rest of the oversized body is never read.
    var error: AgentCoreError {
        AgentCoreError(
            .payloadTooLarge,
            "The request body exceeds the limit of \(limit) bytes",
            headers: [(name: "Connection", value: "close")]
        )
    }
}

/// A caller's body passed on chunk by chunk that fails once more than `limit` bytes went by, counting what it
/// passes on to the session's meter.
///
/// Only the upstream client's upload reads it, and that upload is awaited before a response is returned, so
/// Hummingbird never reads the same body at the same time.
struct LimitedRequestBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    let base: RequestBody
    let limit: Int
    let hold: SessionHold

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: RequestBody.AsyncIterator
        let limit: Int
        let hold: SessionHold
        var seen = 0

        mutating func next() async throws -> ByteBuffer? {
            guard let chunk = try await base.next() else { return nil }
            seen += chunk.readableBytes
            guard seen <= limit else { throw RequestBodyTooLarge(limit: limit) }
            hold.countIn(chunk.readableBytes)
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), limit: limit, hold: hold)
    }
}
