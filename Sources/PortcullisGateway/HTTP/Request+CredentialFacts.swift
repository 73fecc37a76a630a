import Hummingbird
import PortcullisIdentity

extension Request {
    /// The request as credentials see it: method, raw path and query exactly as they arrived, headers, authority,
    /// and — for SigV4 — the body's hash once it has been read.
    func credentialFacts(payloadHash: String? = nil) -> RequestFacts {
        let target = head.path ?? "/"
        let mark = target.firstIndex(of: "?")
        return RequestFacts(
            method: method.rawValue,
            rawPath: String(target[..<(mark ?? target.endIndex)]),
            rawQuery: mark.map { String(target[target.index(after: $0)...]) },
            headers: headers,
            authority: head.authority,
            payloadHash: payloadHash
        )
    }
}
