import Foundation
import PortcullisCore

/// Adds the gateway's own resource attributes (session, agent runtime) to every resource of an OTLP trace export
/// an agent sent, and drops any the agent set under the gateway's `portcullis.` prefix — so the tags a collector
/// shows were vouched for by the gateway, not claimed by the agent.
///
/// Protobuf is edited on the wire format, without a schema compiler: `ExportTraceServiceRequest` is
/// `repeated ResourceSpans resource_spans = 1`, `ResourceSpans` has `Resource resource = 1`, `Resource` has
/// `repeated KeyValue attributes = 1` and `KeyValue` is `string key = 1; AnyValue value = 2` with
/// `AnyValue.string_value = 1`. Every other field is copied byte for byte.
enum OTLPResourceTags {
    static let reservedPrefix = "portcullis."

    struct Malformed: Error {}

    static func tag(protobuf body: [UInt8], with tags: [(key: String, value: String)]) throws(Malformed) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(body.count + 64 * tags.count)
        var reader = WireReader(body)
        while let field = try reader.next() {
            if field.number == 1, case .bytes(let resourceSpans) = field.value {
                appendField(1, try tagResourceSpans(Array(resourceSpans), tags), to: &output)
            } else {
                output.append(contentsOf: field.raw)
            }
        }
        return output
    }

    static func tag(json body: [UInt8], with tags: [(key: String, value: String)]) throws(Malformed) -> [UInt8] {
        guard var document = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { throw Malformed() }
        guard var resourceSpans = (document["resourceSpans"] ?? []) as? [[String: Any]] else { throw Malformed() }
        for index in resourceSpans.indices {
            var resource = resourceSpans[index]["resource"] as? [String: Any] ?? [:]
            var attributes = (resource["attributes"] as? [[String: Any]] ?? []).filter {
                !(($0["key"] as? String)?.hasPrefix(reservedPrefix) ?? false)
            }
            attributes += tags.map { ["key": $0.key, "value": ["stringValue": $0.value]] }
            resource["attributes"] = attributes
            resourceSpans[index]["resource"] = resource
        }
        document["resourceSpans"] = resourceSpans
        guard let data = try? JSONSerialization.data(withJSONObject: document) else { throw Malformed() }
        return Array(data)
    }

    /// One `ResourceSpans` with a single `Resource` first: the agent's resource fields (all occurrences merged, as
    /// protobuf merges repeated messages), minus reserved attributes, plus the tags.
    private static func tagResourceSpans(_ bytes: [UInt8], _ tags: [(key: String, value: String)]) throws(Malformed) -> [UInt8] {
        var resource: [UInt8] = []
        var rest: [UInt8] = []
        var reader = WireReader(bytes)
        while let field = try reader.next() {
            guard field.number == 1, case .bytes(let resourceBytes) = field.value else {
                rest.append(contentsOf: field.raw)
                continue
            }
            var resourceReader = WireReader(Array(resourceBytes))
            while let resourceField = try resourceReader.next() {
                if resourceField.number == 1, case .bytes(let keyValue) = resourceField.value, try isReserved(Array(keyValue)) { continue }
                resource.append(contentsOf: resourceField.raw)
            }
        }
        for tag in tags {
            var anyValue: [UInt8] = []
            appendField(1, Array(tag.value.utf8), to: &anyValue)
            var keyValue: [UInt8] = []
            appendField(1, Array(tag.key.utf8), to: &keyValue)
            appendField(2, anyValue, to: &keyValue)
            appendField(1, keyValue, to: &resource)
        }
        var output: [UInt8] = []
        appendField(1, resource, to: &output)
        output.append(contentsOf: rest)
        return output
    }

    private static func isReserved(_ keyValue: [UInt8]) throws(Malformed) -> Bool {
        var reader = WireReader(keyValue)
        while let field = try reader.next() {
            if field.number == 1, case .bytes(let key) = field.value {
                return String(decoding: key, as: UTF8.self).hasPrefix(reservedPrefix)
            }
        }
        return false
    }

    private static func appendField(_ number: UInt64, _ payload: [UInt8], to output: inout [UInt8]) {
        appendVarint(number << 3 | 2, to: &output)
        appendVarint(UInt64(payload.count), to: &output)
        output.append(contentsOf: payload)
    }

    private static func appendVarint(_ value: UInt64, to output: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            output.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        output.append(UInt8(value))
    }

    /// Reads protobuf fields one at a time, each with its raw bytes (tag included) for copying unchanged.
    private struct WireReader {
        enum Value {
            case scalar
            case bytes(ArraySlice<UInt8>)
        }

        struct Field {
            var number: UInt64
            var value: Value
            var raw: ArraySlice<UInt8>
        }

        private let bytes: [UInt8]
        private var index = 0

        init(_ bytes: [UInt8]) {
            self.bytes = bytes
        }

        mutating func next() throws(Malformed) -> Field? {
            guard index < bytes.count else { return nil }
            let start = index
            let key = try varint()
            let number = key >> 3
            guard number > 0 else { throw Malformed() }
            let value: Value
            switch key & 7 {
            case 0:
                _ = try varint()
                value = .scalar
            case 1:
                try skip(8)
                value = .scalar
            case 5:
                try skip(4)
                value = .scalar
            case 2:
                let length = try varint()
                guard length <= UInt64(bytes.count - index) else { throw Malformed() }
                let payloadStart = index
                index += Int(length)
                value = .bytes(bytes[payloadStart..<index])
            default:
                // Groups (3, 4) are not used by OTLP; anything else is not protobuf.
                throw Malformed()
            }
            return Field(number: number, value: value, raw: bytes[start..<index])
        }

        private mutating func skip(_ count: Int) throws(Malformed) {
            guard bytes.count - index >= count else { throw Malformed() }
            index += count
        }

        private mutating func varint() throws(Malformed) -> UInt64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while index < bytes.count, shift < 64 {
                let byte = bytes[index]
                index += 1
                result |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return result }
                shift += 7
            }
            throw Malformed()
        }
    }
}
