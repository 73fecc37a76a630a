/// Why a call to an agent failed, before the gateway turns it into a `RuntimeClientError`.
enum UpstreamError: Error, Equatable {
    /// The TCP connection could not be opened.
    case unreachable
    /// The connection did not open within the connect timeout.
    case connectTimeout
    /// The agent sent nothing for the read timeout.
    case readTimeout
    /// The agent closed the connection before its response was complete.
    /// `responseStarted` is false when not a byte of the response had arrived.
    case closed(responseStarted: Bool)
    /// The agent's response was not valid HTTP/1.1.
    case malformedResponse
}
