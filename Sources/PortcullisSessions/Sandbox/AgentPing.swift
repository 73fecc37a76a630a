import Foundation
import Glibc

/// `GET /ping` on an agent, over a connection the caller opened (inside the sandbox's network namespace).
///
/// A small blocking HTTP/1.1 exchange on the blocking pool: the answer is at most a few hundred bytes, and this runs
/// at start-up and every few seconds per idle session, never on the request path.
public enum AgentPing {
    public enum Status: Sendable, Equatable {
        case healthy
        /// Background work is running (`@app.async_task`): the session must not idle out.
        case healthyBusy
        /// The agent answers HTTP, but not with a ping status (an MCP server without `/ping`, or an error).
        case answered(status: Int)
    }

    /// Sends `GET /ping` on `socket` and reads the answer; closes the socket.
    /// - Returns: `nil` when nothing came back within `timeout` or the answer is not HTTP.
    static func exchange(on socket: Int32, timeout: Duration) -> Status? {
        let request = Array("GET /ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAccept: application/json\r\n\r\n".utf8)
        return SocketExchange.run(on: socket, sending: request, timeout: timeout, maxBytes: 16_384, answer: parse)
    }

    /// Reads the status line and, for a 200, the `status` member of the JSON body.
    static func parse(_ bytes: [UInt8], complete: Bool) -> Status? {
        guard let headEnd = bytes.firstRange(of: Array("\r\n\r\n".utf8)) else { return nil }
        let head = String(decoding: bytes[..<headEnd.lowerBound], as: UTF8.self)
        let statusLine = head.split(separator: "\r\n", maxSplits: 1).first ?? ""
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let code = Int(parts[1]) else { return nil }
        guard code == 200 else { return .answered(status: code) }
        let body = bytes[headEnd.upperBound...]
        // The SDK answers `{"status": "Healthy", "time_of_last_update": …}`; the body may still be arriving.
        if let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any], let status = object["status"] as? String {
            switch status {
            case "Healthy": return .healthy
            case "HealthyBusy": return .healthyBusy
            default: return .answered(status: code)
            }
        }
        return complete ? .answered(status: code) : nil
    }
}

extension Sandbox {
    /// Pings the agent on `port`: `nil` when it does not answer (not listening yet, or hung).
    public func ping(port: Int, timeout: Duration = .seconds(2)) async -> AgentPing.Status? {
        guard let socket = try? await connect(port: port, timeout: .milliseconds(50)) else { return nil }
        return await BlockingWork.run { AgentPing.exchange(on: socket, timeout: timeout) } ?? nil
    }

    /// Waits until the agent answers HTTP on `port` (any answer: an MCP server has no `/ping`), polling with a short
    /// connect timeout so a SYN lost while the sandbox's loopback comes up costs 50 ms, not the kernel's 1 s retry.
    /// - Throws: `SandboxError.exited` when the sandbox ends first, `.startFailed` after `timeout`.
    public func waitUntilReady(port: Int, timeout: Duration) async throws(SandboxError) -> AgentPing.Status {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let status = await ping(port: port, timeout: .seconds(2)) { return status }
            if hasExited { throw SandboxError(.exited, "the agent exited before it answered on port \(port)") }
            try? await Task.sleep(for: .milliseconds(5))
        }
        throw SandboxError(.startFailed, "the agent did not answer on port \(port) within \(timeout)")
    }
}
