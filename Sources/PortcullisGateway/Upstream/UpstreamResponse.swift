import NIOCore
import NIOHTTP1

/// An agent's response as it arrives: the head at once, the body as a stream with backpressure.
struct UpstreamResponse: Sendable {
    var head: HTTPResponseHead
    var body: UpstreamResponseBody
    /// Keeps the caller's disconnect tied to this exchange for as long as the response is held.
    var disconnectWatch: ClientDisconnectWatch?
}

/// The body of an ``UpstreamResponse``. Iterating it reads from the agent; abandoning it closes that connection.
struct UpstreamResponseBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    typealias Producer = NIOThrowingAsyncSequenceProducer<
        ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, UpstreamBodyDelegate
    >

    let producer: Producer

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: Producer.AsyncIterator

        mutating func next() async throws -> ByteBuffer? {
            try await base.next()
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: producer.makeAsyncIterator())
    }

    /// The whole body, refusing more than `limit` bytes.
    func collect(upTo limit: Int) async throws -> ByteBuffer {
        var collected = ByteBuffer()
        for try await chunk in self {
            guard collected.readableBytes + chunk.readableBytes <= limit else { throw NIOTooManyBytesError(maxBytes: limit) }
            collected.writeImmutableBuffer(chunk)
        }
        return collected
    }
}

/// Lets the body's consumer steer reading on the connection: resume when it wants more, close when it gives up.
struct UpstreamBodyDelegate: NIOAsyncSequenceProducerDelegate {
    let connection: UpstreamConnection
    let exchange: Int

    func produceMore() {
        connection.resumeReading(exchange: exchange)
    }

    func didTerminate() {
        connection.consumerFinished(exchange: exchange)
    }
}
