import Hummingbird
import NIOCore
import PortcullisCore
import Synchronization

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

/// A caller's body streamed to the agent chunk by chunk, failing once more than `limit` bytes went by.
///
/// The HTTP client reads it from a task of its own, while Hummingbird drains whatever is left of a body after the
/// response is written; two readers at once corrupt the connection's stream. ``RequestBodyHandoff`` makes the
/// hand-over explicit: the handler waits until the client's reader has let go before it returns a response.
struct StreamedRequestBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    let base: RequestBody
    let limit: Int
    let handoff: RequestBodyHandoff

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: RequestBody.AsyncIterator?
        let limit: Int
        let release: RequestBodyHandoff.Release?
        var seen = 0

        mutating func next() async throws -> ByteBuffer? {
            guard var iterator = base else { throw CancellationError() }
            do {
                let chunk = try await iterator.next()
                base = iterator
                guard let chunk else {
                    release?.now()
                    return nil
                }
                seen += chunk.readableBytes
                guard seen <= limit else { throw RequestBodyTooLarge(limit: limit) }
                return chunk
            } catch {
                base = nil
                release?.now()
                throw error
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        guard let release = handoff.beginReading() else {
            // The handler already answered and gave the body back to Hummingbird: do not touch it.
            return AsyncIterator(base: nil, limit: limit, release: nil)
        }
        return AsyncIterator(base: base.makeAsyncIterator(), limit: limit, release: release)
    }
}

/// Who may read a request body: the upstream client's reader, or (after the response) Hummingbird.
final class RequestBodyHandoff: Sendable {
    private enum State {
        case idle
        case reading(waiters: [CheckedContinuation<Void, Never>])
        case released
        case abandoned
    }

    private let state = Mutex<State>(.idle)

    /// The reader's token. Dropping it (the client's upload task ended) counts as releasing the body.
    final class Release: Sendable {
        private let handoff: RequestBodyHandoff

        init(_ handoff: RequestBodyHandoff) { self.handoff = handoff }

        func now() { handoff.finishReading() }

        deinit { handoff.finishReading() }
    }

    /// Called when the upstream client starts reading. `nil` when the body was already handed back.
    func beginReading() -> Release? {
        let started = state.withLock { state -> Bool in
            guard case .idle = state else { return false }
            state = .reading(waiters: [])
            return true
        }
        return started ? Release(self) : nil
    }

    fileprivate func finishReading() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard case .reading(let waiters) = state else { return [] }
            state = .released
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once nobody but the caller can read the body: at once if reading never started (it never will now),
    /// otherwise when the reader finished or was dropped.
    func waitUntilReleased() async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                switch state {
                case .idle:
                    state = .abandoned
                    return true
                case .released, .abandoned:
                    return true
                case .reading(var waiters):
                    waiters.append(continuation)
                    state = .reading(waiters: waiters)
                    return false
                }
            }
            if resumeNow { continuation.resume() }
        }
    }
}
