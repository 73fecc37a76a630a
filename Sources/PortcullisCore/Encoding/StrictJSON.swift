/// A JSON parser for documents from untrusted parties: token headers and claims, JWKS and discovery documents,
/// OAuth responses.
///
/// Unlike `JSONSerialization` or `JSONDecoder` it refuses what RFC 8259 leaves to implementations and attackers use
/// to make two parsers disagree: duplicate object members, lone surrogates, invalid UTF-8, numbers that do not fit
/// a double (`1e400`), nesting deeper than a bound, and anything after the top-level value.
public enum StrictJSON {
    /// Parses one JSON document.
    /// - Parameter maxDepth: how deeply arrays and objects may nest.
    public static func parse(_ bytes: [UInt8], maxDepth: Int = 32) throws(StrictJSONError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { buffer throws(StrictJSONError) in
            var parser = Parser(bytes: buffer, maxDepth: maxDepth)
            return try parser.document()
        }
    }

    /// Parses one JSON document that must be an object, as tokens, key sets and metadata are.
    public static func parseObject(_ bytes: [UInt8], maxDepth: Int = 32) throws(StrictJSONError) -> [String: JSONValue] {
        guard case .object(let members) = try parse(bytes, maxDepth: maxDepth) else {
            throw StrictJSONError(offset: 0, reason: "the document is not a JSON object")
        }
        return members
    }

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        let maxDepth: Int
        var position = 0
        var depth = 0

        init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
            self.bytes = bytes
            self.maxDepth = maxDepth
        }

        mutating func document() throws(StrictJSONError) -> JSONValue {
            skipWhitespace()
            let result = try value()
            skipWhitespace()
            guard position == bytes.count else { throw failure("unexpected data after the JSON value") }
            return result
        }

        func failure(_ reason: String) -> StrictJSONError {
            StrictJSONError(offset: position, reason: reason)
        }

        mutating func skipWhitespace() {
            while position < bytes.count {
                switch bytes[position] {
                case 0x20, 0x09, 0x0A, 0x0D: position += 1
                default: return
                }
            }
        }

        mutating func value() throws(StrictJSONError) -> JSONValue {
            guard position < bytes.count else { throw failure("unexpected end of the document") }
            switch bytes[position] {
            case UInt8(ascii: "{"): return try object()
            case UInt8(ascii: "["): return try array()
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
            default: throw failure("unexpected character")
            }
        }

        mutating func literal(_ word: StaticString) throws(StrictJSONError) {
            let count = word.utf8CodeUnitCount
            guard position + count <= bytes.count else { throw failure("unexpected end of the document") }
            let expected = UnsafeBufferPointer(start: word.utf8Start, count: count)
            for index in 0..<count where bytes[position + index] != expected[index] {
                throw failure("unexpected character")
            }
            position += count
        }

        mutating func enter() throws(StrictJSONError) {
            depth += 1
            guard depth <= maxDepth else { throw failure("the document nests deeper than \(maxDepth) levels") }
        }

        mutating func object() throws(StrictJSONError) -> JSONValue {
            try enter()
            position += 1
            var members: [String: JSONValue] = [:]
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
                position += 1
                depth -= 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                    throw failure("expected a member name")
                }
                let nameOffset = position
                let name = try string()
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw failure("expected ':'") }
                position += 1
                skipWhitespace()
                let member = try value()
                guard members.updateValue(member, forKey: name) == nil else {
                    throw StrictJSONError(offset: nameOffset, reason: "duplicate member '\(name.prefix(64))'")
                }
                skipWhitespace()
                guard position < bytes.count else { throw failure("unexpected end of the document") }
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                    continue
                }
                guard bytes[position] == UInt8(ascii: "}") else { throw failure("expected ',' or '}'") }
                position += 1
                depth -= 1
                return .object(members)
            }
        }

        mutating func array() throws(StrictJSONError) -> JSONValue {
            try enter()
            position += 1
            var elements: [JSONValue] = []
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
                position += 1
                depth -= 1
                return .array(elements)
            }
            while true {
                skipWhitespace()
                elements.append(try value())
                skipWhitespace()
                guard position < bytes.count else { throw failure("unexpected end of the document") }
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                    continue
                }
                guard bytes[position] == UInt8(ascii: "]") else { throw failure("expected ',' or ']'") }
                position += 1
                depth -= 1
                return .array(elements)
            }
        }

        mutating func string() throws(StrictJSONError) -> String {
            position += 1
            let start = position
            // Fast path: no escapes, so the bytes between the quotes are the string.
            while position < bytes.count {
                let byte = bytes[position]
                if byte == UInt8(ascii: "\"") {
                    let slice = UnsafeBufferPointer(rebasing: bytes[start..<position])
                    position += 1
                    guard let text = String(validating: slice, as: UTF8.self) else {
                        throw StrictJSONError(offset: start, reason: "a string is not valid UTF-8")
                    }
                    return text
                }
                if byte == UInt8(ascii: "\\") { break }
                guard byte >= 0x20 else { throw failure("a control character in a string must be escaped") }
                position += 1
            }
            var collected = Array(bytes[start..<position])
            while position < bytes.count {
                let byte = bytes[position]
                switch byte {
                case UInt8(ascii: "\""):
                    position += 1
                    guard let text = String(validating: collected, as: UTF8.self) else {
                        throw StrictJSONError(offset: start, reason: "a string is not valid UTF-8")
                    }
                    return text
                case UInt8(ascii: "\\"):
                    position += 1
                    try escape(into: &collected)
                default:
                    guard byte >= 0x20 else { throw failure("a control character in a string must be escaped") }
                    collected.append(byte)
                    position += 1
                }
            }
            throw failure("unterminated string")
        }

        mutating func escape(into collected: inout [UInt8]) throws(StrictJSONError) {
            guard position < bytes.count else { throw failure("unterminated string") }
            let byte = bytes[position]
            position += 1
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): collected.append(byte)
            case UInt8(ascii: "b"): collected.append(0x08)
            case UInt8(ascii: "f"): collected.append(0x0C)
            case UInt8(ascii: "n"): collected.append(0x0A)
            case UInt8(ascii: "r"): collected.append(0x0D)
            case UInt8(ascii: "t"): collected.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hexQuad()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u")
                    else { throw failure("a lone surrogate in a string") }
                    position += 2
                    let low = try hexQuad()
                    guard (0xDC00...0xDFFF).contains(low) else { throw failure("a lone surrogate in a string") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw failure("a lone surrogate in a string")
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw failure("an invalid \\u escape") }
                collected.append(contentsOf: Array(String(Character(unicode)).utf8))
            default:
                throw failure("an invalid escape in a string")
            }
        }

        mutating func hexQuad() throws(StrictJSONError) -> UInt32 {
            guard position + 4 <= bytes.count else { throw failure("an incomplete \\u escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[position]
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
                default: throw failure("an invalid \\u escape")
                }
                value = value << 4 | digit
                position += 1
            }
            return value
        }

        mutating func number() throws(StrictJSONError) -> Double {
            let start = position
            if bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard position < bytes.count else { throw failure("an incomplete number") }
            if bytes[position] == UInt8(ascii: "0") {
                position += 1
            } else {
                guard digits() > 0 else { throw failure("an invalid number") }
            }
            if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
                position += 1
                guard digits() > 0 else { throw failure("an invalid number") }
            }
            if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
                position += 1
                if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                    position += 1
                }
                guard digits() > 0 else { throw failure("an invalid number") }
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            guard let value = Double(text), value.isFinite else {
                throw StrictJSONError(offset: start, reason: "a number out of range")
            }
            return value
        }

        mutating func digits() -> Int {
            var count = 0
            while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) {
                position += 1
                count += 1
            }
            return count
        }
    }
}

/// Why a document is not strict JSON: the byte offset and what is wrong there.
public struct StrictJSONError: Error, Sendable, Equatable, CustomStringConvertible {
    public var offset: Int
    public var reason: String

    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "\(reason) (at byte \(offset))" }
}
