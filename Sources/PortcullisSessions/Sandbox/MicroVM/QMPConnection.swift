import CSandboxSupport
import Foundation
import Glibc
import PortcullisCore

/// The gateway's end of a VM's QEMU Machine Protocol channel: one half of a socket pair whose other half QEMU got
/// as an inherited descriptor (`-chardev socket,fd=…`), so no path or port exists that anything else could reach —
/// not the guest (its user-mode network reaches the monitor's loopback), not another session, not a host user.
///
/// Commands are sent one at a time and answered in order; events in between are skipped. Every read is bounded in
/// size and time. Blocking: call it from ``BlockingWork``.
final class QMPConnection: @unchecked Sendable {
    private let socket: Int32
    private var buffered: [UInt8] = []
    private var closed = false
    private let lock = NSLock()

    /// A reply or event longer than this is not QEMU's.
    static let maxMessageBytes = 1 << 20

    /// The pair: the gateway's end (``QMPConnection``) and the descriptor to pass to QEMU (close it once QEMU started).
    static func pair() throws(SandboxError) -> (connection: QMPConnection, monitorEnd: Int32) {
        var ends: [Int32] = [-1, -1]
        let result = pcs_socket_pair(&ends)
        guard result == 0 else { throw SandboxError(.startFailed, "cannot create the VM's control socket: \(String(cString: strerror(-result)))") }
        return (QMPConnection(socket: ends[0]), ends[1])
    }

    private init(socket: Int32) {
        self.socket = socket
    }

    deinit {
        if !closed { Glibc.close(socket) }
    }

    func close() {
        lock.withLock {
            guard !closed else { return }
            closed = true
            Glibc.close(socket)
        }
    }

    /// Reads QEMU's greeting and leaves capabilities negotiation, after which commands are accepted.
    func negotiate(deadline: ContinuousClock.Instant) throws(SandboxError) {
        let greeting = try message(deadline: deadline)
        guard greeting["QMP"] != nil else { throw SandboxError(.startFailed, "the VM's monitor did not greet") }
        _ = try execute("qmp_capabilities", deadline: deadline)
    }

    /// Runs `command` and returns its `return` member.
    /// - Parameter passing: a descriptor sent with the command (`getfd`, `add-fd`).
    /// - Throws: `startFailed` with QEMU's description when it answers with an error, or when it does not answer in time.
    @discardableResult
    func execute(_ command: String, _ arguments: [String: JSONValue] = [:], passing descriptor: Int32? = nil, deadline: ContinuousClock.Instant) throws(SandboxError) -> JSONValue {
        var request: [String: JSONValue] = ["execute": .string(command)]
        if !arguments.isEmpty { request["arguments"] = .object(arguments) }
        let bytes = JSONValue.object(request).serialized() + [0x0A]
        try send(bytes, passing: descriptor)
        while true {
            let reply = try message(deadline: deadline)
            if reply["event"] != nil { continue }
            if let error = reply["error"] {
                let description = error["desc"]?.stringValue ?? "unknown error"
                throw SandboxError(.startFailed, "the VM's monitor refused \(command): \(description)")
            }
            guard let value = reply["return"] else { throw SandboxError(.startFailed, "the VM's monitor answered \(command) without a result") }
            return value
        }
    }

    private func send(_ bytes: [UInt8], passing descriptor: Int32?) throws(SandboxError) {
        var offset = 0
        while offset < bytes.count {
            let sent: Int = bytes.withUnsafeBytes { buffer in
                let start = buffer.baseAddress! + offset
                if let descriptor, offset == 0 {
                    return Int(pcs_send_with_descriptor(socket, start, Int64(buffer.count - offset), descriptor))
                }
                let count = Glibc.send(socket, start, buffer.count - offset, Int32(MSG_NOSIGNAL))
                return count < 0 ? -Int(errno) : count
            }
            if sent == -Int(EINTR) { continue }
            guard sent > 0 else { throw SandboxError(.startFailed, "the VM's monitor is gone (\(String(cString: strerror(Int32(-sent)))))") }
            offset += sent
        }
    }

    /// The next JSON line from QEMU.
    private func message(deadline: ContinuousClock.Instant) throws(SandboxError) -> JSONValue {
        while true {
            if let end = buffered.firstIndex(of: 0x0A) {
                let line = Array(buffered[..<end])
                buffered.removeFirst(end + 1)
                do {
                    return try StrictJSON.parse(line)
                } catch {
                    throw SandboxError(.startFailed, "the VM's monitor sent something other than JSON: \(error)")
                }
            }
            guard buffered.count < Self.maxMessageBytes else { throw SandboxError(.startFailed, "the VM's monitor sent a message over 1 MiB") }
            try fill(deadline: deadline)
        }
    }

    private func fill(deadline: ContinuousClock.Instant) throws(SandboxError) {
        let remaining = deadline - ContinuousClock.now
        guard remaining > .zero else { throw SandboxError(.timedOut, "the VM's monitor did not answer in time") }
        var entry = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        let ready = poll(&entry, 1, remaining.pollMilliseconds)
        if ready < 0, errno == EINTR { return }
        guard ready > 0 else { return }
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        if count < 0, errno == EINTR || errno == EAGAIN { return }
        guard count > 0 else { throw SandboxError(.exited, "the VM's monitor closed its control socket") }
        buffered += chunk[..<count]
    }
}
