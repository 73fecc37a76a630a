/// A destination an agent's sandbox may open a connection to, through the gateway's allowlisting CONNECT proxy.
/// Sandboxes have no network of their own; without rules they reach nothing.
///
/// Written `HOST:PORT`: `api.openai.com:443` (that name), `*.anthropic.com:443` (any name below it, not the name
/// itself), or an IP address (`10.0.0.7:8443`, `[2001:db8::7]:443`). A name may never lead to a loopback, private,
/// link-local or otherwise internal address, whatever DNS answers (no rebinding onto the host or the cloud's
/// metadata service); an internal address is reached only by naming it as an address.
public struct EgressRule: Sendable, Equatable, CustomStringConvertible {
    public enum Host: Sendable, Equatable {
        case name(String)
        /// `*.example.com`: the names ending in `.example.com`.
        case suffix(String)
        case address(String)
    }

    public let host: Host
    public let port: Int

    /// The most rules one runtime may have.
    public static let maximumCount = 64

    public init(_ text: String) throws(AgentCoreError) {
        let invalid = AgentCoreError.invalidField(
            "egressAllowlist", "Each entry must be HOST:PORT — a DNS name, *.domain or an IP address, and a port 1-65535 — not '\(text.prefix(80))'"
        )
        guard (3...260).contains(text.utf8.count), let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (1...65_535).contains(port)
        else { throw invalid }
        var host = String(text[..<colon]).lowercased()
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
            guard IPAddressClassifier.isIPv6Literal(host) else { throw invalid }
            self.host = .address(host)
        } else if IPAddressClassifier.isIPv4Literal(host) {
            self.host = .address(host)
        } else if host.hasPrefix("*.") {
            let domain = String(host.dropFirst(2))
            guard Self.isDNSName(domain), domain.contains(".") else { throw invalid }
            self.host = .suffix(domain)
        } else {
            guard Self.isDNSName(host) else { throw invalid }
            self.host = .name(host)
        }
        self.port = port
    }

    /// Whether a CONNECT to `host:port` (the host as the client wrote it) is allowed.
    public func matches(host requested: String, port requestedPort: Int) -> Bool {
        guard requestedPort == port else { return false }
        let requested = requested.lowercased()
        switch host {
        case .name(let name): return requested == name
        case .suffix(let domain): return requested.hasSuffix("." + domain) && requested.count > domain.count + 1
        case .address(let address): return requested == address
        }
    }

    /// Whether this rule names an address (which is then reached whatever kind it is).
    public var namesAddress: Bool {
        if case .address = host { return true }
        return false
    }

    public var description: String {
        switch host {
        case .name(let name): "\(name):\(port)"
        case .suffix(let domain): "*.\(domain):\(port)"
        case .address(let address): address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
        }
    }

    /// Parses and checks a list of rules (at most ``maximumCount``, no duplicates).
    public static func parse(_ entries: [String]) throws(AgentCoreError) -> [EgressRule] {
        guard entries.count <= maximumCount else {
            throw AgentCoreError.invalidField("egressAllowlist", "Member must have at most \(maximumCount) entries")
        }
        var rules: [EgressRule] = []
        for entry in entries {
            let rule = try EgressRule(entry)
            guard !rules.contains(rule) else { throw AgentCoreError.invalidField("egressAllowlist", "\(entry) is listed twice") }
            rules.append(rule)
        }
        return rules
    }

    private static func isDNSName(_ text: String) -> Bool {
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        return (1...253).contains(text.utf8.count) && labels.allSatisfy { label in
            (1...63).contains(label.utf8.count) && label.first != "-" && label.last != "-"
                && label.utf8.allSatisfy { AgentRuntimeIdentifier.isLetter($0) || AgentRuntimeIdentifier.isDigit($0) || $0 == UInt8(ascii: "-") }
        }
    }
}

extension AgentRuntimeConfiguration {
    /// Where the sandbox may connect (`networkConfiguration.egressAllowlist`, a Portcullis extension): nothing when
    /// absent. Checked when the version was made, so an entry that no longer parses is dropped rather than widened.
    public var egressAllowlist: [EgressRule] {
        networkConfiguration["egressAllowlist"]?.arrayValue.compactMap { $0.stringValue.flatMap { try? EgressRule($0) } } ?? []
    }
}

/// Which addresses are internal: never reached through a rule that names a host.
public enum IPAddressClassifier {
    public static func isIPv4Literal(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in
            (1...3).contains(part.count) && part.allSatisfy(\.isASCII) && UInt8(part) != nil && (part.count == 1 || part.first != "0")
        }
    }

    public static func isIPv6Literal(_ text: String) -> Bool {
        text.contains(":") && text.utf8.count <= 45 && text.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
    }

    /// Whether an IPv4 address (four bytes) is loopback, private, link-local, CGNAT, "this network", multicast,
    /// reserved or broadcast.
    public static func isInternal(ipv4 bytes: [UInt8]) -> Bool {
        guard bytes.count == 4 else { return true }
        switch (bytes[0], bytes[1]) {
        case (0, _), (10, _), (127, _), (169, 254), (192, 168): return true
        case (172, 16...31), (100, 64...127), (198, 18...19): return true
        case (192, 0) where bytes[2] == 0 || bytes[2] == 2: return true
        case (224...255, _): return true
        default: return false
        }
    }

    /// Whether an IPv6 address (sixteen bytes) is unspecified, loopback, link-local, unique-local, multicast, or an
    /// IPv4-mapped/-compatible form of an internal IPv4 address.
    public static func isInternal(ipv6 bytes: [UInt8]) -> Bool {
        guard bytes.count == 16 else { return true }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) { return true }  // :: and ::1
        if bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80 { return true }  // fe80::/10
        if bytes[0] & 0xFE == 0xFC { return true }  // fc00::/7
        if bytes[0] == 0xFF { return true }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && ((bytes[10] == 0xFF && bytes[11] == 0xFF) || (bytes[10] == 0 && bytes[11] == 0)) {
            return isInternal(ipv4: Array(bytes[12..<16]))
        }
        if bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x0D && bytes[3] == 0xB8 { return true }  // documentation
        if bytes[0] == 0x00 && bytes[1] == 0x64 && bytes[2] == 0xFF && bytes[3] == 0x9B { return isInternal(ipv4: Array(bytes[12..<16])) }  // NAT64
        return false
    }
}
