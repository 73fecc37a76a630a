/// The drivers a gateway runs sessions with: its own (`sandbox.driver`) and, under their configured names, the
/// others some agent runtimes are given (`sandbox.agentDrivers`), so one gateway can run a trusted agent in a
/// bubblewrap sandbox and another in a VM. The session manager asks it which driver runs an agent and otherwise
/// does not know which one does.
public struct SandboxDrivers: Sendable {
    public let standard: any SandboxDriver
    private let named: [String: any SandboxDriver]

    /// - Parameter others: drivers by configured name (`microvm`), beside `standard`.
    public init(standard: any SandboxDriver, others: [String: any SandboxDriver] = [:]) {
        self.standard = standard
        self.named = others
    }

    /// The driver for `agent`'s sessions. An agent naming a driver this gateway does not run gets the standard one:
    /// the gateway builds every driver its configuration names, so this only happens to an agent made elsewhere.
    public func driver(for agent: SandboxedAgent) -> any SandboxDriver {
        agent.driver.flatMap { named[$0] } ?? standard
    }

    /// Every driver, the standard one first.
    public var all: [any SandboxDriver] {
        [standard] + named.sorted { $0.key < $1.key }.map(\.value)
    }
}
