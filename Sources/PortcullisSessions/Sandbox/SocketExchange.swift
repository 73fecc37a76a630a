import Glibc

/// One small request and its answer on a connected non-blocking socket (an agent's `/ping`, a guest's control
/// port), bounded in time and size; blocking, for ``BlockingWork``.
enum SocketExchange {
    /// Sends `request`, then reads until `answer` makes something of what arrived; when the peer closes, or `maxBytes`
    /// have arrived, or `timeout` has passed, `answer` gets what there is with `complete` set. Closes the socket.
    /// - Returns: `nil` when the request could not be sent in time, or `answer`'s verdict.
    static func run<Answer>(
        on socket: Int32, sending request: [UInt8], timeout: Duration, maxBytes: Int, answer: (_ received: [UInt8], _ complete: Bool) -> Answer?
    ) -> Answer? {
        defer { close(socket) }
        let deadline = ContinuousClock.now + timeout
        var sent = 0
        while sent < request.count {
            guard wait(socket, for: Int16(POLLOUT), until: deadline) else { return nil }
            let count = request[sent...].withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                return nil
            }
            sent += count
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while received.count < maxBytes {
            guard wait(socket, for: Int16(POLLIN), until: deadline) else { break }
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, min($0.count, maxBytes - received.count), 0) }
            if count < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                break
            }
            if count == 0 { break }
            received += buffer[0..<count]
            if let value = answer(received, false) { return value }
        }
        return answer(received, true)
    }

    private static func wait(_ socket: Int32, for events: Int16, until deadline: ContinuousClock.Instant) -> Bool {
        while true {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { return false }
            var entry = pollfd(fd: socket, events: events, revents: 0)
            let ready = poll(&entry, 1, remaining.pollMilliseconds)
            if ready < 0, errno == EINTR { continue }
            return ready > 0
        }
    }
}
