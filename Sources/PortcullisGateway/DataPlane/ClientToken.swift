/// `clientToken`: 33–256 characters matching `[a-zA-Z0-9](-*[a-zA-Z0-9]){0,256}` (so a UUID qualifies).
enum ClientToken {
    static func isValid(_ token: String) -> Bool {
        let bytes = Array(token.utf8)
        guard (33...256).contains(bytes.count), let first = bytes.first, let last = bytes.last else { return false }
        func isAlphanumeric(_ byte: UInt8) -> Bool {
            (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122)
        }
        guard isAlphanumeric(first), isAlphanumeric(last) else { return false }
        return bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") }
    }
}
