import Foundation
import Logging
@testable import PortcullisCore
import Testing

@Suite("JSON log lines")
struct JSONLogHandlerTests {
    /// Logs through a handler writing to a temporary file and returns the lines, each decoded.
    static func lines(_ write: (Logger) -> Void) throws -> [[String: Any]] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("json-log-\(UUID().uuidString)").path
        let descriptor = open(path, O_RDWR | O_CREAT | O_EXCL | O_APPEND, 0o600)
        try #require(descriptor >= 0)
        defer {
            close(descriptor)
            unlink(path)
        }
        let provider = Logger.MetadataProvider { ["request_id": "from-the-provider"] }
        var logger = Logger(label: "portcullis-test") { label in JSONLogHandler(label: label, metadataProvider: provider, descriptor: descriptor) }
        logger.logLevel = .debug
        write(logger)
        let text = String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
        return try text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not one JSON object: \(line)")
        }
    }

    @Test("one object per event: time, level, logger, message, source and metadata; hostile text escaped; credentials' keys redacted")
    func shape() throws {
        let hostile = "line one\nline \"two\"\t\u{07}\\ \u{2028}end"
        let lines = try Self.lines { logger in
            logger.info(
                "\(hostile)",
                metadata: [
                    "agent": "echo", "count": "3", "authorization": "Bearer SENTINEL-token", "nested": ["client_secret": "SENTINEL-secret", "kept": ["a", "b"]],
                ]
            )
            logger.trace("below the level")
            logger.error("second")
        }
        #expect(lines.count == 2, "trace is below the handler's level")
        let first = lines[0]
        #expect(first["message"] as? String == hostile, "escaped text decodes to itself")
        #expect(first["level"] as? String == "info")
        #expect(first["logger"] as? String == "portcullis-test")
        #expect(first["source"] as? String == "PortcullisCoreTests")
        #expect(first["agent"] as? String == "echo")
        #expect(first["request_id"] as? String == "from-the-provider")
        #expect(first["authorization"] as? String == "[REDACTED]")
        let nested = try #require(first["nested"] as? [String: Any])
        #expect(nested["client_secret"] as? String == "[REDACTED]")
        #expect(nested["kept"] as? [String] == ["a", "b"])
        let time = try #require(first["time"] as? String)
        #expect(time.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/) != nil, "\(time)")
        #expect(lines[1]["message"] as? String == "second" && lines[1]["level"] as? String == "error")
    }

    @Test("lines from many tasks at once never interleave")
    func concurrentLines() async throws {
        let lines = try Self.lines { logger in
            DispatchQueue.concurrentPerform(iterations: 8) { worker in
                for index in 0..<200 {
                    logger.notice("event", metadata: ["worker": "\(worker)", "index": "\(index)", "padding": .string(String(repeating: "x", count: 600))])
                }
            }
        }
        #expect(lines.count == 1600)
        #expect(Set(lines.map { "\($0["worker"] ?? "")-\($0["index"] ?? "")" }).count == 1600)
    }
}
