import Foundation

/// Runs a host tool (Python's `zipfile`, pip, `compileall`, `mksquashfs`) without blocking a thread: bounded in
/// time, killed when the caller is cancelled, its combined output kept in a file and only the tail read back.
public struct ToolProcess: Sendable {
    public struct Outcome: Sendable {
        public var exitStatus: Int32
        public var timedOut: Bool
        /// The last bytes the tool wrote to stdout and stderr.
        public var outputTail: String
    }

    public var executable: String
    public var arguments: [String]
    public var environment: [String: String]
    public var workingDirectory: String?
    public var timeout: Duration
    public var tailBytes = 2000

    public init(
        executable: String, arguments: [String], environment: [String: String], workingDirectory: String? = nil, timeout: Duration,
        tailBytes: Int = 2000
    ) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.timeout = timeout
        self.tailBytes = tailBytes
    }

    /// An inline script run by the host's Python in isolated mode (`-I`: no user site, no environment variables of
    /// its own), with a minimal environment: the unpackers of zips and images.
    public static func pythonScript(_ script: String, arguments: [String], timeout: Duration, tailBytes: Int) -> ToolProcess {
        ToolProcess(
            executable: "/usr/bin/python3",
            arguments: ["-I", "-c", script] + arguments,
            environment: ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"],
            timeout: timeout,
            tailBytes: tailBytes
        )
    }

    /// - Throws: when the tool cannot be started at all.
    public func run() async throws(SpawnError) -> Outcome {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("portcullis-tool-\(SecureRandom.base32(10)).log").path
        let log = open(output, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o600)
        guard log >= 0 else { throw SpawnError("cannot create a file for \(executable)'s output") }
        defer {
            close(log)
            try? FileManager.default.removeItem(atPath: output)
        }
        let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        guard devNull >= 0 else { throw SpawnError("cannot open /dev/null for \(executable)") }
        defer { close(devNull) }
        let process = try ChildProcess(
            executable: executable,
            arguments: arguments,
            environment: environment,
            descriptors: [0: devNull, 1: log, 2: log],
            workingDirectory: workingDirectory
        )
        // The whole process group goes: pip and the unpackers start helpers of their own.
        let timeout = self.timeout
        let watchdog = Task { () -> Bool in
            do { try await Task.sleep(for: timeout) } catch { return false }
            process.signalGroup(SIGKILL)
            return true
        }
        let status = await withTaskCancellationHandler {
            await process.exited()
        } onCancel: {
            process.signalGroup(SIGKILL)
        }
        watchdog.cancel()
        let timedOut = await watchdog.value
        return Outcome(exitStatus: ChildProcess.exitCode(status), timedOut: timedOut, outputTail: Self.tail(of: output, bytes: tailBytes))
    }

    private static func tail(of path: String, bytes: Int) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { return "" }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        try? handle.seek(toOffset: size > UInt64(bytes) ? size - UInt64(bytes) : 0)
        let data = (try? handle.readToEnd()) ?? Data()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
