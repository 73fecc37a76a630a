/// A sandbox with its egress proxy: everything is the sandbox's, and destroying it closes the proxy and its tunnels
/// first, so no connection of the session outlives it.
final class ProxiedSandbox: Sandbox {
    let inner: any Sandbox
    private let proxy: EgressProxy

    init(_ inner: any Sandbox, proxy: EgressProxy) {
        self.inner = inner
        self.proxy = proxy
    }

    var id: String { inner.id }
    var hasExited: Bool { inner.hasExited }

    func connect(port: Int, timeout: Duration) async throws(SandboxError) -> Int32 {
        try await inner.connect(port: port, timeout: timeout)
    }

    func listen(port: Int) throws(SandboxError) -> Int32 {
        try inner.listen(port: port)
    }

    func usage() -> SandboxUsage { inner.usage() }

    func outputTail(bytes: Int) -> String { inner.outputTail(bytes: bytes) }

    func destroy() async -> SandboxUsage {
        await proxy.close()
        return await inner.destroy()
    }
}
