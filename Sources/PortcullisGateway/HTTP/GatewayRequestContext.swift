public import Hummingbird
public import NIOCore
import PortcullisCore

/// Per-request state: Hummingbird's core context plus the connection and the AgentCore request id.
public struct GatewayRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The client connection, to learn its address and when it closes.
    public let channel: any Channel
    /// The id returned as `x-amzn-RequestId` and sent to agents as the runtime request id.
    public let requestId: String
    /// When the request arrived, for the request-duration metric.
    let arrivedAt = ContinuousClock.now
    let observation = RequestObservation()

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
        self.requestId = RequestIdentifier.next()
    }

    /// Bodies collected into memory (control-plane JSON) are bounded by the control-plane limit instead.
    public var maxUploadSize: Int { 1_048_576 }
}
