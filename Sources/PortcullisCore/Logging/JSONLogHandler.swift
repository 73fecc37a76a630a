import Foundation
public import Logging
import Synchronization

/// One JSON object per line on standard error: `time` (RFC 3339, UTC, milliseconds), `level`, `logger`, `message`,
/// `source`, then the event's metadata (nested values as JSON). Lines are written whole, one `write` each, so
/// concurrent events never interleave.
///
/// Metadata under a credential's name (`authorization`, `cookie`, `password`, `client_secret`, `access_token`, …)
/// is written as `[REDACTED]` whatever its value: the code does not log secrets (a test sweeps every flow for
/// sentinel secrets), and this is the second line.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level = .info
    private let label: String
    private let output: LineWriter

    /// - Parameter descriptor: where lines go; standard error (2) unless a test gives its own.
    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil, descriptor: Int32 = 2) {
        self.label = label
        self.metadataProvider = metadataProvider
        self.output = descriptor == STDERR_FILENO ? LineWriter.standardError : LineWriter(descriptor: descriptor)
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Metadata keys whose values are never written.
    static let redactedKeys: Set<String> = [
        "authorization", "cookie", "set-cookie", "password", "secret", "client_secret", "clientsecret", "access_token",
        "accesstoken", "refresh_token", "refreshtoken", "id_token", "idtoken", "api_key", "apikey", "token",
        "workload_access_token", "workloadaccesstoken", "private_key", "privatekey",
    ]

    public func log(
        level: Logger.Level,
        message: Logger.Message,
        metadata explicit: Logger.Metadata?,
        source: String,
        file: String,
        function: String,
        line: UInt
    ) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let explicit { merged.merge(explicit) { _, new in new } }
        var text = "{\"time\":\""
        text += Self.timestamp(Date())
        text += "\",\"level\":\"\(level.rawValue)\",\"logger\":"
        Self.appendString(label, to: &text)
        text += ",\"message\":"
        Self.appendString(message.description, to: &text)
        text += ",\"source\":"
        Self.appendString(source, to: &text)
        for key in merged.keys.sorted() where !["time", "level", "logger", "message", "source"].contains(key) {
            text += ","
            Self.appendString(key, to: &text)
            text += ":"
            if Self.redactedKeys.contains(key.lowercased()) {
                text += "\"[REDACTED]\""
            } else {
                Self.append(merged[key]!, to: &text, depth: 0)
            }
        }
        text += "}\n"
        output.write(text)
    }

    private static func append(_ value: Logger.Metadata.Value, to text: inout String, depth: Int) {
        switch value {
        case .string(let string):
            appendString(string, to: &text)
        case .stringConvertible(let convertible):
            appendString(convertible.description, to: &text)
        case .array(let values):
            guard depth < 8 else { return text += "\"…\"" }
            text += "["
            for (index, element) in values.enumerated() {
                if index > 0 { text += "," }
                append(element, to: &text, depth: depth + 1)
            }
            text += "]"
        case .dictionary(let values):
            guard depth < 8 else { return text += "\"…\"" }
            text += "{"
            for (index, key) in values.keys.sorted().enumerated() {
                if index > 0 { text += "," }
                appendString(key, to: &text)
                text += ":"
                if redactedKeys.contains(key.lowercased()) {
                    text += "\"[REDACTED]\""
                } else {
                    append(values[key]!, to: &text, depth: depth + 1)
                }
            }
            text += "}"
        }
    }

    /// A JSON string literal: quotes, backslashes, control characters and the two line separators JavaScript
    /// does not allow in strings are escaped; everything else is written as is (UTF-8).
    static func appendString(_ string: String, to text: inout String) {
        text += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case "\u{2028}", "\u{2029}": text += String(format: "\\u%04x", scalar.value)
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    text += String(format: "\\u%04x", scalar.value)
                } else {
                    text.unicodeScalars.append(scalar)
                }
            }
        }
        text += "\""
    }

    static func timestamp(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        let milliseconds = Int((date.timeIntervalSince1970 - Double(seconds)) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
            Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), milliseconds
        )
    }

    /// Writes each line with one `write(2)` under a lock, one writer per descriptor for all handlers.
    private final class LineWriter: Sendable {
        static let standardError = LineWriter(descriptor: STDERR_FILENO)

        private let descriptor: Int32
        private let lock = Mutex(())

        init(descriptor: Int32) {
            self.descriptor = descriptor
        }

        func write(_ line: String) {
            var bytes = Array(line.utf8)
            lock.withLock { _ in
                var offset = 0
                while offset < bytes.count {
                    let written = bytes.withUnsafeMutableBytes { Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
                    if written < 0 {
                        if errno == EINTR { continue }
                        return
                    }
                    offset += written
                }
            }
        }
    }
}
