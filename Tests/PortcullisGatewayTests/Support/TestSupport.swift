import Foundation
import Hummingbird
import Logging
import NIOCore
import PortcullisGateway
import ServiceLifecycle

/// A logger that only reports problems, so test output stays readable.
let testLogger: Logger = {
    var logger = Logger(label: "portcullis-tests")
    logger.logLevel = .error
    return logger
}()

/// The folder holding `Package.swift`.
let packageRoot: URL = {
    var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
        directory = directory.deletingLastPathComponent()
    }
    return directory
}()

/// The repository's `policies/`: the default set every test gateway runs with unless a test gives its own.
let shippedPolicies = packageRoot.appendingPathComponent("policies").path

/// A policy directory for one test: the shipped schema and `administrators.cedar`, plus `files` (name → text).
/// The shipped `agents.cedar` is left out unless `withAgents`, so a test states exactly who may use its agents.
func makePolicyDirectory(_ files: [String: String], withAgents: Bool = false, in directory: TemporaryDirectory) throws -> String {
    let path = directory.path + "/policies"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    for name in ["schema.cedarschema", "administrators.cedar"] + (withAgents ? ["agents.cedar"] : []) {
        try FileManager.default.copyItem(atPath: shippedPolicies + "/" + name, toPath: path + "/" + name)
    }
    for (name, text) in files {
        try text.write(toFile: path + "/" + name, atomically: true, encoding: .utf8)
    }
    return path
}

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

/// A loopback port nothing answers on, for as long as it lives — unlike a port freed after use, which a server
/// started by a parallel test may take.
typealias RefusingPort = ReservedPort

extension ReservedPort {
    var url: String { "http://127.0.0.1:\(port)" }

    /// A loopback port free right now, for a server that must know its URL before it binds.
    static func free() throws -> Int {
        try ReservedPort().port
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension ByteBuffer {
    var string: String { String(buffer: self) }
}
