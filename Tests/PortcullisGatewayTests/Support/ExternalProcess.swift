import Dispatch
import Foundation
import Synchronization

/// Runs a program to completion, collecting its output.
struct ExternalProcess {
    struct Result {
        var status: Int32
        var output: String
        var error: String
    }

    /// Runs `executable` and waits for it without blocking a Swift concurrency thread: the pipes are drained and
    /// the exit awaited on Dispatch threads, so servers running in the same test process keep answering the child
    /// (two blocking waits would take both cooperative threads of this machine).
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:], directory: String? = nil) async throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        // Both pipes are drained at once so a chatty child cannot block on a full pipe.
        async let outputData = readAll(output.fileHandleForReading)
        async let errorData = readAll(error.fileHandleForReading)
        let (outputBytes, errorBytes) = await (outputData, errorData)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                process.waitUntilExit()
                continuation.resume()
            }
        }
        return Result(
            status: process.terminationStatus,
            output: String(decoding: outputBytes, as: UTF8.self),
            error: String(decoding: errorBytes, as: UTF8.self)
        )
    }

    private static func readAll(_ handle: FileHandle) async -> Data {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: handle.readDataToEndOfFile()) }
        }
    }

    /// The `portcullis` executable built next to the test bundle.
    static var portcullisBinary: String? {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidate = directory.appendingPathComponent("portcullis").path
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
    }

    /// The Python with boto3 that the test script prepared (`PORTCULLIS_TEST_PYTHON` or `.venv/bin/python`).
    static var python: String? {
        if let configured = ProcessInfo.processInfo.environment["PORTCULLIS_TEST_PYTHON"], FileManager.default.isExecutableFile(atPath: configured) {
            return configured
        }
        let local = FileManager.default.currentDirectoryPath + "/.venv/bin/python"
        return FileManager.default.isExecutableFile(atPath: local) ? local : nil
    }
}

/// A program running beside the test, its output collected as it comes, so a test can act on what it prints.
final class RunningProcess: Sendable {
    private let process: Process
    private let collected = Mutex("")

    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        self.process = process
        output.fileHandleForReading.readabilityHandler = { [self] handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
            } else {
                self.collected.withLock { $0 += String(decoding: data, as: UTF8.self) }
            }
        }
        try process.run()
    }

    var output: String { collected.withLock { $0 } }

    var processIdentifier: Int32 { process.processIdentifier }

    /// Waits until the output matches `pattern` (a regular expression with one capture group); returns the capture.
    func waitFor(_ pattern: String, timeout: Duration = .seconds(30)) async throws -> String {
        let expression = try NSRegularExpression(pattern: pattern)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let text = output
            if let match = expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)), let range = Range(match.range(at: 1), in: text) {
                return String(text[range])
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("no output matching \(pattern) within \(timeout): \(output)")
    }

    /// Waits for the program to exit; returns its status.
    func exitStatus(timeout: Duration = .seconds(60)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                process.terminate()
                throw TestFailure("still running after \(timeout): \(output)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return process.terminationStatus
    }

    /// SIGTERM, then SIGKILL if it is still running 2 s later (moto's server does not always stop on SIGTERM).
    func terminate() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(2)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
