import Foundation
import PortcullisCore

/// Runs a program to completion, collecting its output.
struct ExternalProcess {
    struct Result {
        /// The exit code, or 128 + the signal that ended it.
        var status: Int32
        var output: String
        var error: String
    }

    /// Runs `executable` with this process's environment plus `environment` and waits for it without blocking a
    /// thread. Output goes to files, not pipes: nothing has to drain them, and a daemon the child leaves behind
    /// holding them open cannot keep the wait from ending.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:], directory: String? = nil) async throws -> Result {
        let output = try CapturedOutput()
        let error = try CapturedOutput()
        let process = try ChildProcess(
            executable: executable,
            arguments: arguments,
            environment: ProcessInfo.processInfo.environment.merging(environment) { $1 },
            descriptors: [0: try CapturedOutput.nullDevice(), 1: output.descriptor, 2: error.descriptor],
            workingDirectory: directory
        )
        let status = await withTaskCancellationHandler {
            await process.exited()
        } onCancel: {
            process.signalGroup(SIGKILL)
        }
        return Result(status: ChildProcess.exitCode(status), output: output.contents, error: error.contents)
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
/// Killed (with its process group) when the test lets go of it.
final class RunningProcess: Sendable {
    private let process: ChildProcess
    private let log: CapturedOutput

    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        log = try CapturedOutput()
        process = try ChildProcess(
            executable: executable,
            arguments: arguments,
            environment: ProcessInfo.processInfo.environment.merging(environment) { $1 },
            descriptors: [0: try CapturedOutput.nullDevice(), 1: log.descriptor, 2: log.descriptor]
        )
    }

    deinit {
        process.stop(grace: .zero)
    }

    /// Everything it wrote to stdout and stderr so far.
    var output: String { log.contents }

    var processIdentifier: Int32 { process.pid }

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

    /// Waits for the program to exit; returns its exit code (128 + signal if a signal ended it).
    func exitStatus(timeout: Duration = .seconds(60)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let status = process.poll() { return ChildProcess.exitCode(status) }
            guard ContinuousClock.now < deadline else {
                process.stop()
                throw TestFailure("still running after \(timeout): \(output)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// SIGTERM to its process group, then SIGKILL if it is still running 2 s later (moto's server does not always
    /// stop on SIGTERM). Returns its exit code (128 + signal if a signal ended it).
    @discardableResult
    func terminate() -> Int32? {
        process.stop().map(ChildProcess.exitCode)
    }
}

/// A file a child writes its output to, read back whenever asked; removed when let go of.
final class CapturedOutput: Sendable {
    let descriptor: Int32
    private let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("portcullis-test-output-\(UUID().uuidString)").path
        descriptor = open(path, O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw TestFailure("cannot create \(path): \(String(cString: strerror(errno)))") }
    }

    deinit {
        close(descriptor)
        unlink(path)
    }

    var contents: String {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// `/dev/null` for a child's stdin, opened once for the whole run.
    static func nullDevice() throws -> Int32 {
        guard sharedNullDevice >= 0 else { throw TestFailure("cannot open /dev/null") }
        return sharedNullDevice
    }

    private static let sharedNullDevice = open("/dev/null", O_RDWR | O_CLOEXEC)
}
