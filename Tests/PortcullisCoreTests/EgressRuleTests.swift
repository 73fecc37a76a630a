import PortcullisCore
import Testing

@Suite("Egress rules and internal addresses")
struct EgressRuleTests {
    @Test("rules parse names, wildcard domains and addresses, and match only what they name")
    func rules() throws {
        let exact = try EgressRule("API.OpenAI.com:443")
        #expect(exact.matches(host: "api.openai.com", port: 443) && !exact.matches(host: "api.openai.com", port: 80))
        #expect(!exact.matches(host: "evil-api.openai.com", port: 443))
        let wildcard = try EgressRule("*.anthropic.com:443")
        #expect(wildcard.matches(host: "api.anthropic.com", port: 443) && wildcard.matches(host: "a.b.anthropic.com", port: 443))
        #expect(!wildcard.matches(host: "anthropic.com", port: 443) && !wildcard.matches(host: "evilanthropic.com", port: 443))
        let v4 = try EgressRule("10.0.0.7:8443")
        #expect(v4.namesAddress && v4.matches(host: "10.0.0.7", port: 8443) && v4.description == "10.0.0.7:8443")
        let v6 = try EgressRule("[2001:db8::7]:443")
        #expect(v6.namesAddress && v6.matches(host: "2001:db8::7", port: 443) && v6.description == "[2001:db8::7]:443")
        for bad in ["api.example.com", "api.example.com:0", "api.example.com:65536", "*.com:443", "exa mple.com:443", "-x.com:443", ":443", "*:443", "010.0.0.1:80x"] {
            #expect(throws: AgentCoreError.self, "\(bad)") { try EgressRule(bad) }
        }
        #expect(throws: AgentCoreError.self) { try EgressRule.parse(["a.com:443", "A.com:443"]) }
        #expect(throws: AgentCoreError.self) { try EgressRule.parse((0...64).map { "h\($0).example.com:443" }) }
    }

    @Test("internal addresses: loopback, private, link-local and metadata, CGNAT, multicast, and their IPv6 forms")
    func internalAddresses() {
        for address in [[127, 0, 0, 1], [10, 1, 2, 3], [172, 16, 0, 1], [172, 31, 255, 255], [192, 168, 1, 1], [169, 254, 169, 254], [100, 64, 0, 1], [0, 0, 0, 0], [224, 0, 0, 1], [255, 255, 255, 255]] as [[UInt8]] {
            #expect(IPAddressClassifier.isInternal(ipv4: address), "\(address)")
        }
        for address in [[8, 8, 8, 8], [172, 32, 0, 1], [1, 1, 1, 1], [100, 128, 0, 1]] as [[UInt8]] {
            #expect(!IPAddressClassifier.isInternal(ipv4: address), "\(address)")
        }
        let loopback6 = [UInt8](repeating: 0, count: 15) + [1]
        let mappedLoopback: [UInt8] = [UInt8](repeating: 0, count: 10) + [0xFF, 0xFF, 127, 0, 0, 1]
        let mappedPublic: [UInt8] = [UInt8](repeating: 0, count: 10) + [0xFF, 0xFF, 8, 8, 8, 8]
        let linkLocal: [UInt8] = [0xFE, 0x80] + [UInt8](repeating: 0, count: 13) + [1]
        let uniqueLocal: [UInt8] = [0xFD, 0x00] + [UInt8](repeating: 0, count: 14)
        let global: [UInt8] = [0x26, 0x06, 0x47, 0x00] + [UInt8](repeating: 0, count: 11) + [1]
        #expect(IPAddressClassifier.isInternal(ipv6: loopback6) && IPAddressClassifier.isInternal(ipv6: mappedLoopback))
        #expect(IPAddressClassifier.isInternal(ipv6: linkLocal) && IPAddressClassifier.isInternal(ipv6: uniqueLocal))
        #expect(!IPAddressClassifier.isInternal(ipv6: mappedPublic) && !IPAddressClassifier.isInternal(ipv6: global))
    }
}
