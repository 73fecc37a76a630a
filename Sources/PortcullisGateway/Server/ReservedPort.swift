#if canImport(Glibc)
import Glibc
#endif

/// A TCP port bound on an IPv4 address but not listening: connecting to it is refused while this lives, and no
/// one else can take it. `portcullis dev` uses one to learn a free port for a gateway that must know its URL
/// before it binds; tests use one as an address nothing answers on.
public final class ReservedPort: Sendable {
    public let port: Int
    private let descriptor: CInt

    /// - Parameter host: a dotted IPv4 address (`localhost` means 127.0.0.1).
    public init(host: String = "127.0.0.1") throws(ReservedPortError) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw ReservedPortError(host: host) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr(host == "localhost" ? "127.0.0.1" : host)
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard bound == 0, named == 0 else {
            close(descriptor)
            throw ReservedPortError(host: host)
        }
        self.descriptor = descriptor
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit {
        close(descriptor)
    }
}

/// No port could be reserved on the address.
public struct ReservedPortError: Error, CustomStringConvertible {
    public var host: String
    public var description: String { "no free TCP port on \(host)" }
}
