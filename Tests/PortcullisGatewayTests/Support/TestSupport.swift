import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// A logger that only reports problems, so test output stays readable.
let testLogger: Logger = {
    var logger = Logger(label: "portcullis-tests")
    logger.logLevel = .error
    return logger
}()

/// A fresh directory under the system temporary directory, removed by `cleanUp()`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "portcullis-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func cleanUp() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Runs an application on a free loopback port for the duration of `body`, then shuts it down gracefully.
func withRunningApplication<App: ApplicationProtocol, T: Sendable>(
    _ makeApplication: (@escaping @Sendable (any Channel) async -> Void) throws -> App,
    _ body: (Int) async throws -> T
) async throws -> T {
    let (ports, continuation) = AsyncStream<Int>.makeStream()
    let app = try makeApplication { channel in
        continuation.yield(channel.localAddress?.port ?? 0)
        continuation.finish()
    }
    let serviceGroup = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: testLogger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await serviceGroup.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw TestFailure("the application did not start") }
        let result: Result<T, any Error>
        do {
            result = .success(try await body(port))
        } catch {
            result = .failure(error)
        }
        await serviceGroup.triggerGracefulShutdown()
        try? await group.waitForAll()
        return try result.get()
    }
}

/// A loopback port that is bound but never listens, so connecting to it is refused for as long as this lives —
/// unlike a port freed after use, which a server started by a parallel test may take.
final class RefusingPort: Sendable {
    let descriptor: CInt
    let port: Int

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard descriptor >= 0, bound == 0, named == 0 else { throw TestFailure("could not reserve a port") }
        self.descriptor = descriptor
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit {
        close(descriptor)
    }

    var url: String { "http://127.0.0.1:\(port)" }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension ByteBuffer {
    var string: String { String(buffer: self) }
}
