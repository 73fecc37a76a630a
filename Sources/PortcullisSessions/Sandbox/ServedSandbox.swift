/// Something the gateway serves to one sandbox on the sandbox's own loopback (the egress proxy, the gateway
/// endpoint); it ends with the sandbox.
protocol SandboxService: Sendable {
    /// Stops listening and closes every connection.
    func close() async
}

extension EgressProxy: SandboxService {}

/// A sandbox with the services served to it: everything is the sandbox's, and destroying it closes the services
/// and their connections first, so no connection of the session outlives it.
final class ServedSandbox: Sandbox {
    let inner: any Sandbox
    private let services: [any SandboxService]

    init(_ inner: any Sandbox, services: [any SandboxService]) {
        self.inner = inner
        self.services = services
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
        for service in services { await service.close() }
        return await inner.destroy()
    }
}
