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
        var line: [UInt8] = []
        line.reserveCapacity(256)
        let fixed: [(String, String)] = [
            ("time", Self.timestamp(Date())), ("level", level.rawValue), ("logger", label), ("message", message.description), ("source", source),
        ]
        line.append(UInt8(ascii: "{"))
        for (index, (key, value)) in fixed.enumerated() {
            if index > 0 { line.append(UInt8(ascii: ",")) }
            JSONValue.writeString(key, to: &line)
            line.append(UInt8(ascii: ":"))
            JSONValue.writeString(value, to: &line)
        }
        for key in merged.keys.sorted() where !fixed.contains(where: { $0.0 == key }) {
            line.append(UInt8(ascii: ","))
            JSONValue.writeString(key, to: &line)
            line.append(UInt8(ascii: ":"))
            Self.json(merged[key]!, key: key, depth: 0).write(to: &line)
        }
        line.append(contentsOf: Array("}\n".utf8))
        output.write(line)
    }

    /// A metadata value as JSON, `[REDACTED]` under a credential's name, nesting cut at eight levels.
    private static func json(_ value: Logger.Metadata.Value, key: String, depth: Int) -> JSONValue {
        if redactedKeys.contains(key.lowercased()) { return .string("[REDACTED]") }
        switch value {
        case .string(let string):
            return .string(string)
        case .stringConvertible(let convertible):
            return .string(convertible.description)
        case .array(let values):
            guard depth < 8 else { return .string("…") }
            return .array(values.map { json($0, key: "", depth: depth + 1) })
        case .dictionary(let values):
            guard depth < 8 else { return .string("…") }
            return .object(values.reduce(into: [:]) { object, member in object[member.key] = json(member.value, key: member.key, depth: depth + 1) })
        }
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

        func write(_ line: [UInt8]) {
            var bytes = line
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
