import Foundation

/// Runs a program to completion, collecting its output.
struct ExternalProcess {
    struct Result {
        var status: Int32
        var output: String
        var error: String
    }

    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:], directory: String? = nil) throws -> Result {
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
        // Read before waiting so a chatty child cannot block on a full pipe.
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self), error: String(decoding: errorData, as: UTF8.self))
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
